# SAGAN on your own images at 64x64 (see configs/sagan_folder_32.py for the commands; only the folder is
# required: --data-root my_data). Attention at 32x32 in G and D.
_base_ = ['sagan_folder_32.py']

model = dict(
    generator=dict(output_scale=64, attention_at=(32, )),
    discriminator=dict(input_scale=64, attention_at=(32, )))
train_dataloader = dict(dataset=dict(image_size=64, cache='work_dirs/cache/image_folder_64.npy'))
val_dataloader = dict(dataset=dict(image_size=64, cache='work_dirs/cache/image_folder_64.npy'))
test_dataloader = val_dataloader
folder_metric_64 = dict(
    type='OfflineFID',
    prefix='FID',
    fake_nums=1000,
    real_nums=1000,
    inception_pkl='work_dirs/cache/image_folder_64_first1000_tf2015_inception.pkl',
    kid=dict(subsets=100, subset_size=500),
    sample_model='ema')
val_evaluator = dict(metrics=[folder_metric_64])
test_evaluator = dict(metrics=[folder_metric_64])
