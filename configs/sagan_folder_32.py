# SAGAN on your own images at 32x32: data_root/<class name>/.../<image> (one folder per class; images in
# its sub-folders belong to it), or any folder of images for an unconditional model (below). The only
# setting you need is the folder:
#   python tools/calc_inception_stats.py configs/sagan_folder_32.py --cfg-options data_root=my_data
#   python tools/train.py configs/sagan_folder_32.py --data-root my_data      (or tools/dist_train.sh)
#   python tools/sample.py configs/sagan_folder_32.py work_dirs/sagan_folder_32/iter_100000.pth \
#       --classes "<a class name>" --out samples.png
#   python tools/test.py configs/sagan_folder_32.py work_dirs/sagan_folder_32/iter_100000.pth \
#       --data-root my_data
# The number of classes is that of the class folders (model.num_classes='from_folder'); an explicit number
# that disagrees with the folder is an error. Unconditional: --cfg-options model.num_classes=0
#   train_dataloader.dataset.conditional=False val_dataloader.dataset.conditional=False
# Small data set (a few thousand images)? Try model.diff_augment='color,translation,cutout' (DiffAugment).
# Unbalanced classes? train_dataloader.sampler.type=ClassBalancedInfiniteSampler.
_base_ = [
    '_base_/default_runtime.py',
    '_base_/models/sagan_32.py',  # BigGAN's 32x32 table (256 channels), attention at 16x16 in G and D
    '_base_/datasets/image_folder.py',
    '_base_/schedules/ttur.py',
    '_base_/evaluation/image_folder_fid.py',  # FID/KID against the folder's own images
]

model = dict(
    num_classes='from_folder',
    ema_config=dict(type='DecayEMA', decay=0.999, start_iter=1000, bn_stats='average'),
    diff_augment=None)  # e.g. 'color,translation,cutout' (Zhao et al. 2020) for small data sets

train_cfg = dict(max_iters=100_000, val_interval=10_000)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(interval=5000, max_keep_ckpts=3, save_best='FID/fid', rule='less'))
custom_hooks = [  # the sample grid (column k = class k, label='cycle') and the attention figure
    dict(
        type='VisualizationHook',
        interval=1000,
        fixed_input=True,
        n_samples=64,
        vis_kwargs_list=dict(type='GAN', name='fake_img', label='cycle')),
    dict(type='AttentionVisualizationHook', interval=5000, num_images=4, num_queries=3),
]
auto_scale_lr = dict(enable=False, base_batch_size=64)
