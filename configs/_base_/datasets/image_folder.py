# Your own images: data_root/<class name>/.../<image> (a class is a top-level folder; images in its
# sub-folders at any depth belong to it). Move it with --data-root PATH (or --cfg-options data_root=PATH):
# the tools move every dataset that reads the config's data_root (training images and the FID statistics').
# The number of classes comes from the folder (model.num_classes='from_folder' in the configs that use this).
data_root = 'data/my_images'
folder_dataset = dict(
    type='ImageFolder',  # sagan_plugin: class folders, alpha on a background, decode cache, bad-file policy
    data_root=data_root,
    image_size=32,  # the configs for 64 and 128 px override it here and in the evaluation dataloader
    conditional=True,  # False: every image below data_root, no classes (with model.num_classes=0)
    min_images_per_class=1,  # classes with fewer images are left out, named in the log
    fit='crop',  # 'crop': centre square of each image (photos); 'pad': whole image on the background
    background=(255, 255, 255),  # RGB under transparent pixels (and around padded images)
    cache='work_dirs/cache/image_folder_32.npy',  # decoded once; rebuilt when the folder or settings change
    bad_images='error')  # 'skip': leave out unreadable images (counted and named in the log)
train_dataloader = dict(
    batch_size=64,
    num_workers=0,  # the images are decoded once into memory-mapped .npy: workers would only copy them
    sampler=dict(type='InfiniteSampler', shuffle=True),  # or dict(type='ClassBalancedInfiniteSampler')
    dataset=dict(
        folder_dataset,
        pipeline=[
            dict(type='Flip', keys=['gt'], flip_ratio=0.5, direction='horizontal'),
            dict(type='PackInputs'),
        ]))
