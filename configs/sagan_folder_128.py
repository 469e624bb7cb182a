# SAGAN on your own images at 128x128, the paper's networks (attention at 64x64 in G and D); see
# configs/sagan_folder_32.py for the commands (only the folder is required: --data-root my_data).
_base_ = ['sagan_folder_32.py']

# as configs/_base_/models/sagan_128.py: channels 1024, 1024, 512, 256, 128, 64 from 4 to 128 px
model = dict(
    generator=dict(output_scale=128, attention_at=(64, ), attention_variant='paper'),
    discriminator=dict(input_scale=128, attention_at=(64, ), attention_variant='paper'))
train_dataloader = dict(
    batch_size=32,  # per process; 128x128 activations at 256 channels
    dataset=dict(image_size=128, cache='work_dirs/cache/image_folder_128.npy'))
val_dataloader = dict(
    batch_size=32, dataset=dict(image_size=128, cache='work_dirs/cache/image_folder_128.npy'))
test_dataloader = val_dataloader
folder_metric_128 = dict(
    type='OfflineFID',
    prefix='FID',
    fake_nums=1000,
    real_nums=1000,
    inception_pkl='work_dirs/cache/image_folder_128_first1000_tf2015_inception.pkl',
    kid=dict(subsets=100, subset_size=500),
    sample_model='ema')
val_evaluator = dict(metrics=[folder_metric_128])
test_evaluator = dict(metrics=[folder_metric_128])
auto_scale_lr = dict(enable=False, base_batch_size=32)
