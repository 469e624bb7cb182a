# The demo: a small class-conditional SAGAN on real Fashion-MNIST at 32x32, a few minutes on 2 CPU cores.
#   .venv/bin/python tools/train.py configs/sagan_demo_fashion32.py
# Leaves in work_dirs/sagan_demo_fashion32/: checkpoints, the log, TensorBoard events and
# vis_data/vis_image/fake_img_*.png, a 10x10 grid whose column k shows class k (T-shirt, Trouser, ...).
_base_ = [
    '_base_/default_runtime.py',
    '_base_/models/sagan_32.py',
    '_base_/datasets/fashion_mnist_32.py',
    '_base_/schedules/ttur.py',
    '_base_/evaluation/fashion_mnist_fid.py',  # FID against the test split after training
]

# mmagic's CIFAR layout at width 64 (the parity networks, docs/parity/README.md): at equal training time they
# beat the earlier tapered widths (G 128..16, D 16..128 for 1,500 iterations) by ~45 FID (docs/demo_sweep/).
model = dict(
    generator=dict(
        channels=(64, 64, 64, 64),  # at 4, 8, 16, 32 px
        attention_variant='pooled'),  # keys and values 2x2 max-pooled (BigGAN, mmagic): a quarter of the cost
    discriminator=dict(
        channels=(64, 64, 64, 64),  # blocks ending at 16, 8, 8, 8 px
        attention_variant='pooled'),
    # EMA over ~the last 100 steps; with 0.999 the final grid would still show the iter-100 generator.
    # BN statistics averaged like the weights: copied from the raw G they cost 17 FID (docs/ema_bn_stats.md)
    ema_config=dict(type='DecayEMA', decay=0.99, start_iter=100, bn_stats='average'))

optim_wrapper = dict(generator_lr=2e-4, discriminator_lr=8e-4)  # TTUR's 1:4 ratio, 2x faster for a short run

# 1,000 iterations: 0.74-0.83 s each on 2 idle cores without AVX-512 (~13 min); one evaluation, at the end
train_cfg = dict(max_iters=1000, val_interval=1000)
default_hooks = dict(
    logger=dict(interval=50),
    # keep the 2 newest and, beside them, the checkpoint with the lowest FID so far (best_FID_fid_iter_N.pth)
    checkpoint=dict(interval=500, max_keep_ckpts=2, save_best='FID/fid', rule='less'))
custom_hooks = [  # the whole list replaces the base's: mmagic's grid, 10x10 with one class per column
    dict(
        type='VisualizationHook',
        interval=250,
        fixed_input=True,
        n_samples=100,
        n_row=10,
        vis_kwargs_list=dict(type='GAN', name='fake_img', label='cycle')),
    # gamma of both attention layers at every log line; the paper's Fig. 5 maps for 4 images every 500 its
    dict(type='AttentionVisualizationHook', interval=500, num_images=4, num_queries=3),
]
auto_scale_lr = dict(
    enable=False, base_batch_size=50)  # --auto-scale-lr: the lrs above are for 50 images/step
