# Fashion-MNIST from Debian's dataset-fashion-mnist, 28x28 grey -> 32x32 (3 identical channels).
data_root = '/usr/share/datasets/fashion-mnist'
train_pipeline = [
    dict(type='Resize', keys='gt', scale=(32, 32), backend='pillow'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=50,  # a multiple of the 10 classes keeps one class per column in the sample grid
    num_workers=0,  # the data lives in memory; workers would only copy it
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='FashionMNIST', data_root=data_root, split='train', pipeline=train_pipeline))
