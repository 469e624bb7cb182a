# Runtime shared by every sagan_plugin experiment: scope, hooks, logging, checkpoints, distributed wrapper.
default_scope = 'sagan_plugin'  # our names first, then mmagic's, then mmengine's
custom_imports = dict(imports=['sagan_plugin'], allow_failed_imports=False)  # registers our types

randomness = dict(seed=2022, diff_rank_seed=True)  # a different z stream per process

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100, log_metric_by_epoch=False),
    checkpoint=dict(
        type='AtomicCheckpointHook',  # MMEngine's, but a failed save or a NaN never costs a good checkpoint
        interval=10000,
        by_epoch=False,
        max_keep_ckpts=20,
        save_optimizer=True,  # both Adam states: --resume continues exactly
        save_param_scheduler=True),
    rng_state=dict(type='RNGStateHook'),  # z/y streams continue on --resume
    non_finite=dict(type='NonFiniteGuardHook'),  # stop at the first NaN/Inf loss or weight, saving nothing
    setup_check=dict(type='SetupCheckHook'),  # dataset classes vs model.num_classes, before iteration 1
    # SIGTERM/SIGUSR1 (a scheduler stopping the job): save at the next iteration, exit 75 (slurm_train.sh)
    preemption=dict(type='PreemptionHook', signals=['SIGTERM', 'SIGUSR1']))

# mmagic's sample grid, in custom_hooks as in mmagic's configs; label='cycle' gives class k to grid column k.
custom_hooks = [
    dict(
        type='VisualizationHook',
        interval=5000,
        fixed_input=True,  # the same z every time, so grids show progress
        vis_kwargs_list=dict(type='GAN', name='fake_img', label='cycle'))
]

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),  # tools/train.py switches to gloo when there is no CUDA
    # glibc keeps freed memory for reuse (no page faults on every large CPU tensor): 1.15-1.35x faster
    # training on CPU for ~10% more peak memory (bench_train.py); read by tools/train.py and tools/test.py
    keep_freed_memory=True)

log_level = 'INFO'
log_processor = dict(type='LogProcessor', by_epoch=False)
load_from = None
resume = False

# G and D each get their own DDP wrapper: the D step runs G without grad and vice versa.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', broadcast_buffers=False, find_unused_parameters=False)

vis_backends = [dict(type='VisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

train_cfg = dict(by_epoch=False, val_begin=1, val_interval=10000)
