# The demo config shrunk for tests: same code path (Runner, FashionMNIST, SAGAN, TTUR, hooks), tiny sizes.
_base_ = ['../../configs/sagan_demo_fashion32.py']

model = dict(
    generator=dict(channels=(32, 16, 16, 8), noise_size=16),
    discriminator=dict(channels=(8, 16, 16, 32)),
    ema_config=dict(start_iter=2))
train_dataloader = dict(batch_size=10, dataset=dict(num_samples=100))
train_cfg = dict(max_iters=4, val_interval=1000)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=3))
custom_hooks = [
    dict(
        type='VisualizationHook',
        interval=2,
        fixed_input=True,
        n_samples=20,
        n_row=10,
        vis_kwargs_list=dict(type='GAN', name='fake_img', label='cycle'))
]
# no evaluation in the tiny run (the evaluation tests cover it)
val_dataloader = val_evaluator = val_cfg = None
test_dataloader = test_evaluator = test_cfg = None
visualizer = dict(vis_backends=[dict(type='VisBackend')])
