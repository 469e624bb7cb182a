# ImageNet (ILSVRC2012) in the standard folder layout, read as mmagic/mmpretrain do:
#   data/imagenet/train/<wnid>/<image>.JPEG  and  data/imagenet/meta/train.txt ("<wnid>/<image> <label>").
# Override the root with: --cfg-options data_root=/path/to/imagenet
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
        type='ImageNet',
        data_root=data_root,
        ann_file='meta/train.txt',
        data_prefix='train',
        pipeline=train_pipeline))
