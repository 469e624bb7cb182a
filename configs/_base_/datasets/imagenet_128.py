# ImageNet (ILSVRC2012) in the standard folder layout, read as mmagic/mmpretrain do:
#   data/imagenet/train/<wnid>/<image>.JPEG  and  data/imagenet/meta/train.txt ("<wnid>/<image> <label>").
# Move it with: --cfg-options data_root=/path/to/imagenet (tools/ move every dataset that reads data_root: the
# training images here and the FID statistics' images in the evaluation config).
data_root = 'data/imagenet'
train_pipeline = [
    dict(type='LoadImageFromFile', key='gt'),
    dict(type='RandomCropLongEdge', keys='gt'),  # BigGAN's crop: square crop of the long edge
    dict(type='Resize', scale=(128, 128), keys='gt', backend='pillow'),
    dict(type='Flip', keys='gt', flip_ratio=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,  # per process; x4 processes = the paper's 256
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ImageNet',  # sagan_plugin's: mmagic's, with the list checked at start and bad files named
        data_root=data_root,
        ann_file='meta/train.txt',
        data_prefix='train',
        bad_images='error',  # 'skip': leave out missing / unreadable images (counted in the log)
        pipeline=train_pipeline))
