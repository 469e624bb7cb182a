# The worked example of "your own images": Debian's openclipart-png (public-domain clip art, 162 MB under
# /usr/share/openclipart/png: 22 category folders, most with sub-folders, 3 to 2,158 images a category,
# RGBA / palette / grey, 2 px to 16,000 px a side). Install it with: bash tools/get_openclipart.sh
#   python tools/calc_inception_stats.py configs/sagan_openclipart_32.py
#   python tools/train.py configs/sagan_openclipart_32.py
#   python tools/sample.py configs/sagan_openclipart_32.py work_dirs/sagan_openclipart_32/iter_2000.pth \
#       --classes animals food --out clipart.png
#   python tools/test.py configs/sagan_openclipart_32.py work_dirs/sagan_openclipart_32/iter_2000.pth
# Networks as small as the Fashion-MNIST demo's earlier ones, so that a run of minutes on 2 CPU cores shows
# something.
_base_ = ['sagan_folder_32.py']

data_root = '/usr/share/openclipart/png'
clipart = dict(
    data_root=data_root,
    fit='pad',  # clip art is drawn to its edges: pad to a square instead of cutting it
    background=(255, 255, 255),  # transparent pixels become white, as the pictures are meant to be seen
    min_images_per_class=20,  # leaves out buttons (3 images), logos (7), containers (16): named in the log
    max_image_pixels=700_000_000,  # 16 posters up to 20,990x29,700 px (2.5 GB as RGBA): decoded once, cached
    cache='work_dirs/cache/openclipart_32.npy')
train_dataloader = dict(
    batch_size=57,  # 3 images per class of the 19 kept
    dataset=clipart)  # sampler: natural class frequencies (ClassBalancedInfiniteSampler: equal)
val_dataloader = dict(batch_size=57, dataset=clipart)
test_dataloader = val_dataloader

model = dict(
    generator=dict(channels=(128, 64, 32, 16)),  # at 4, 8, 16, 32 px: small enough for 2 cores
    discriminator=dict(channels=(16, 32, 64, 128)),
    ema_config=dict(type='DecayEMA', decay=0.99, start_iter=100, bn_stats='average'),
    diff_augment=None)  # 'color,translation,cutout': compared in docs/own_images/README.md
optim_wrapper = dict(generator_lr=2e-4, discriminator_lr=8e-4)  # the demo's, for a short run

clipart_metric = dict(
    type='OfflineFID',
    prefix='FID',
    fake_nums=1000,
    real_nums=1000,
    inception_pkl='work_dirs/cache/openclipart_32_first1000_tf2015_inception.pkl',
    kid=dict(subsets=100, subset_size=500),
    sample_model='ema')
val_evaluator = dict(metrics=[clipart_metric])
test_evaluator = dict(metrics=[clipart_metric])

train_cfg = dict(
    max_iters=2000, val_interval=2000)  # ~9 min on 2 idle cores (0.27 s/it); one evaluation, at the end
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=1000, max_keep_ckpts=2))
custom_hooks = [
    dict(
        type='VisualizationHook',
        interval=500,
        fixed_input=True,
        n_samples=57,
        n_row=19,  # column k = class k (label='cycle'), 3 rows
        vis_kwargs_list=dict(type='GAN', name='fake_img', label='cycle')),
    dict(type='AttentionVisualizationHook', interval=1000, num_images=4, num_queries=3),
]
auto_scale_lr = dict(enable=False, base_batch_size=57)
