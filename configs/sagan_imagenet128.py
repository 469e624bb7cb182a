# SAGAN on ImageNet 128x128, the paper's set-up (Zhang et al. 2019, Table 1 "feat64": IS 52.52 / FID 18.65).
# 4 processes x batch 64 = 256:  tools/dist_train.sh configs/sagan_imagenet128.py 4
_base_ = [
    '_base_/default_runtime.py',
    '_base_/models/sagan_128.py',  # attention at feat64 in G and D, SN everywhere, hinge loss
    '_base_/datasets/imagenet_128.py',  # batch 64 per process; data_root overridable
    '_base_/schedules/ttur.py',  # G 1e-4, D 4e-4, Adam (0.0, 0.9)
    '_base_/evaluation/imagenet_is_fid_50k.py',  # IS-50k and FID-50k vs training-set statistics
]

train_cfg = dict(max_iters=1_000_000, val_interval=10_000)  # 1M iterations of one D step + one G step
# keep, beside the newest 20, the checkpoint with the lowest FID-50k so far (best_FID-50k_fid_iter_N.pth)
default_hooks = dict(checkpoint=dict(interval=10_000, save_best='FID-50k/fid', rule='less'))
custom_hooks = [  # the whole list replaces the base's: mmagic's 8x8 sample grid every 5k iterations
    dict(
        type='VisualizationHook',
        interval=5_000,
        fixed_input=True,
        n_samples=64,
        vis_kwargs_list=dict(type='GAN', name='fake_img', label='cycle'))
]
auto_scale_lr = dict(enable=False, base_batch_size=256)  # --auto-scale-lr: the paper's lrs are for 4 x 64
