# SAGAN on CIFAR-10 32x32, the peers' set-up (mmagic 1.2: IS 9.32 / FID 9.43 with 5 D steps).
# Here TTUR with n_dis = 1, as in the paper.
_base_ = [
    '_base_/default_runtime.py',
    '_base_/models/sagan_32.py',  # BigGAN's 32x32 table, attention at 16x16 in G and D
    '_base_/datasets/cifar10_32.py',
    '_base_/schedules/ttur.py',
]

# CIFAR-10 pickles hold RGB; mmagic's pipeline and metrics work in BGR.
model = dict(data_preprocessor=dict(output_channel_order='BGR'))
train_cfg = dict(max_iters=500_000, val_interval=10_000)
auto_scale_lr = dict(enable=False, base_batch_size=64)  # --auto-scale-lr: the lrs are for one process x 64
