# The attention ablation (paper Table 1, scaled down to Fashion-MNIST 32x32, class-conditional): every arm is
# this config plus one attention setting, trained and evaluated identically (tools/experiments/
# attention_ablation.py runs them over seeds). Only the block in the attention slot and its position differ.
_base_ = [
    '../../../_base_/default_runtime.py',
    '../../../_base_/models/sagan_32.py',
    '../../../_base_/datasets/fashion_mnist_32.py',
    '../../../_base_/schedules/ttur.py',
    '../../../_base_/evaluation/fashion_mnist_fid.py',
]

model = dict(
    generator=dict(
        channels=(128, 64, 32, 16),  # the earlier demo's G (4..32 px): attention at 8/16/32 sees C = 64/32/16
        attention_at=(),  # set by each arm
        attention_variant='paper'),  # Eqs. 1-3 as written (f, g, h at C/8)
    discriminator=dict(
        base_channels=8,
        # D keeps a 32x32 map in its first block, so attention can sit at 32, 16 and 8 px in D as in G.
        architecture=[[2, False], [4, True], [8, True], [8, False]],  # 16@32, 32@16, 64@8, 64@8
        attention_at=(),
        attention_variant='paper'),
    # EMA over ~200 steps, evaluated; BN statistics averaged (the 15 recorded runs copied them: docs/ablation)
    ema_config=dict(type='DecayEMA', decay=0.995, start_iter=500, bn_stats='average'))

optim_wrapper = dict(
    generator_lr=2e-4,  # TTUR 1:4, as the demo
    discriminator_lr=8e-4,
    type='AmpOptimWrapper',  # bf16 autocast (= tools/train.py --amp): 0.39 -> 0.28 s/iteration on one core;
    dtype='bfloat16')  # the demo's FID in bf16 lay inside fp32's seed spread (README, Performance)

# 2 runs at once on 2 CPU cores (one core each): 0.17 s/iteration without attention and with it at 8 px,
# 0.20 at 16 px, 0.67 at 32 px (the N x N softmax at head width 2); ~1.5 min per evaluation. Why 12,000: the
# record, docs/ablation/README.md.
train_cfg = dict(max_iters=12000, val_interval=2000)  # FID/KID every 2,000 iterations (the curves)
default_hooks = dict(
    logger=dict(interval=100), checkpoint=dict(interval=500,
                                               max_keep_ckpts=1))  # resumable, losing at most 500 iterations
custom_hooks = [  # gamma of every attention layer at every log line (the curves), a figure at the end
    dict(type='AttentionVisualizationHook', interval=2000, num_images=4, num_queries=3)
]

# FID and KID of the EMA generator against all 10,000 test images (statistics cached once, ~10 min).
ablation_metric = dict(
    type='OfflineFID',
    prefix='FID',
    fake_nums=1000,  # generated images per evaluation (FID is biased by N: compare equal N only)
    real_nums=-1,  # the whole test split
    inception_pkl='work_dirs/cache/fashion_mnist_test_all_tf2015_inception.pkl',
    kid=dict(subsets=100, subset_size=500),  # torch-fidelity's KID with subsets of 500 < 1000 samples
    sample_model='ema')
val_evaluator = dict(type='Evaluator', metrics=[ablation_metric])
test_evaluator = val_evaluator
