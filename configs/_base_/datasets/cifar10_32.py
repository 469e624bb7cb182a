# CIFAR-10 in mmagic's layout (python pickles under data/cifar10/cifar-10-batches-py), as the peers train it.
data_root = 'data'
train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CIFAR10',
        data_root=data_root,
        data_prefix='cifar10',
        test_mode=False,
        download=False,  # offline: a missing folder is an error, not a download
        pipeline=[
            dict(type='Flip', keys=['gt'], flip_ratio=0.5, direction='horizontal'),
            dict(type='PackInputs')
        ]))
