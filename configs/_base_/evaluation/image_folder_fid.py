# FID and KID of a model trained on your own images, against the folder's own images (the statistics of
# the first `real_nums` of them, in the dataset's fixed shuffled order, so every class is represented):
#   python tools/calc_inception_stats.py CONFIG --data-root PATH     (once; ~1 min per 1000 images on 2 cores)
# The statistics file records which files (names, sizes, times) and settings it was made from: a folder that
# changed since is refused with what differs; rebuild with --force.
# A folder with fewer than 1000 images needs test_evaluator.metrics.0.real_nums=<N> (and val_evaluator's).
folder_eval_dataset = dict(
    type='ImageFolder',
    data_root='data/my_images',  # the same folder as training: --data-root moves both
    image_size=32,
    conditional=True,
    min_images_per_class=1,
    fit='crop',
    background=(255, 255, 255),
    cache='work_dirs/cache/image_folder_32.npy',  # shared with training (same files, same settings)
    bad_images='error',
    test_mode=True,
    pipeline=[dict(type='PackInputs')])
val_dataloader = dict(
    batch_size=50,
    num_workers=0,
    dataset=folder_eval_dataset,
    sampler=dict(type='DefaultSampler', shuffle=False),  # real_nums takes the first N images, in order
    persistent_workers=False)
test_dataloader = val_dataloader

folder_metrics = [
    dict(
        type='OfflineFID',  # TF-2015 FID Inception (offline), validated statistics cache
        prefix='FID',  # keys FID/fid, FID/kid, FID/kid_std
        fake_nums=1000,
        real_nums=1000,
        inception_pkl='work_dirs/cache/image_folder_32_first1000_tf2015_inception.pkl',
        kid=dict(subsets=100, subset_size=500),
        sample_model='ema'),
]
val_evaluator = dict(type='Evaluator', metrics=folder_metrics)
test_evaluator = dict(type='Evaluator', metrics=folder_metrics)
val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')
