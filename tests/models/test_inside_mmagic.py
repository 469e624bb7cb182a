"""Our networks inside mmagic's own GAN models: an mmagic-scope config, mmagic's data flow, Runner, hooks.

mmagic's ``PackInputs`` hands class labels as ``(B, 1)``; its SAGAN and BigGAN pass them to the networks as
they are. These runs train (D and G steps), validate through mmagic's ``MultiValLoop`` with a metric, and
draw mmagic's ``VisualizationHook`` grid, with ``sagan_plugin.SAGANGenerator``/``SAGANDiscriminator`` named
in a config whose default scope is mmagic's.
"""
import glob
import os
import os.path as osp

import mmagic
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from PIL import Image

MMAGIC_CONFIGS = osp.join(osp.dirname(mmagic.__file__), '.mim', 'configs')
PEER = {
    'SAGAN': 'sagan/sagan_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32.py',
    'BigGAN': 'biggan/biggan_2xb25-500kiters_cifar10-32x32.py',
}
NUM_CLASSES = 3


def write_class_folders(root: str, per_class: int = 4) -> str:
    """root/<class>/<i>.png, 32x32 RGB: the layout mmagic's BasicConditionalDataset scans without ann_file."""
    rng = np.random.default_rng(0)
    for k in range(NUM_CLASSES):
        os.makedirs(osp.join(root, f'class{k}'))
        for i in range(per_class):
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(osp.join(root, f'class{k}', f'{i}.png'))
    return root


def peer_config_with_our_networks(model: str, data_root: str, work_dir: str) -> Config:
    """mmagic's own CIFAR-10 config for ``model`` with our G and D, tiny widths and a folder of PNGs."""
    cfg = Config.fromfile(osp.join(MMAGIC_CONFIGS, PEER[model]))
    assert cfg.default_scope == 'mmagic'
    cfg.custom_imports = dict(imports=['sagan_plugin'], allow_failed_imports=False)
    cfg.model.update(num_classes=NUM_CLASSES, noise_size=16)  # mmagic's model checks G's noise size
    cfg.model.generator = dict(
        type='sagan_plugin.SAGANGenerator',
        output_scale=32,
        num_classes=NUM_CLASSES,
        noise_size=16,
        channels=(16, 8, 8, 8),
        attention_at=(16, ),
        attention_k=2)
    cfg.model.discriminator = dict(
        type='sagan_plugin.SAGANDiscriminator',
        input_scale=32,
        num_classes=NUM_CLASSES,
        channels=(8, 8, 8, 16),
        attention_at=(16, ),
        attention_k=2)
    cfg.model.discriminator_steps = 2  # 4 iterations: two D steps, then a G step, twice
    cfg.model.pop('ema_config', None)
    dataset = dict(
        type='BasicConditionalDataset',
        data_root=data_root,
        pipeline=[dict(type='LoadImageFromFile', key='gt'),
                  dict(type='PackInputs')])
    loader = dict(batch_size=4, num_workers=0, persistent_workers=False, dataset=dataset)
    cfg.train_dataloader = dict(loader, sampler=dict(type='InfiniteSampler', shuffle=True))
    cfg.val_dataloader = dict(loader, sampler=dict(type='DefaultSampler', shuffle=False))
    cfg.val_evaluator = dict(
        type='Evaluator',
        metrics=[dict(type='SWD', prefix='swd', fake_nums=8, image_shape=(3, 32, 32), sample_model='orig')])
    cfg.train_cfg = dict(by_epoch=False, max_iters=4, val_interval=4)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=4, by_epoch=False)
    cfg.default_hooks.logger.interval = 1
    cfg.custom_hooks = [
        dict(
            type='VisualizationHook',
            interval=2,
            fixed_input=True,
            n_samples=6,
            vis_kwargs_list=dict(type='GAN', name='fake_img', label='cycle'))
    ]
    cfg.pop('test_dataloader', None), cfg.pop('test_cfg', None), cfg.pop('test_evaluator', None)
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.work_dir = work_dir
    return cfg


@pytest.mark.parametrize('model', PEER)
def test_our_networks_train_validate_and_draw_inside_mmagics_model(model, tmp_path):
    cfg = peer_config_with_our_networks(model, write_class_folders(str(tmp_path / 'data')),
                                        str(tmp_path / 'work'))
    # the Runner makes mmagic's scope the current one; later tests in this process expect it back
    with DefaultScope.overwrite_default_scope('sagan_plugin'):
        run_and_check(Runner.from_cfg(cfg))


def run_and_check(runner: Runner) -> None:
    assert type(runner.model).__module__.startswith('mmagic.')  # mmagic's own model class
    assert type(runner.model.generator).__module__.startswith('sagan_plugin.')
    runner.train()
    assert runner.iter == 4
    assert np.isfinite(runner.message_hub.get_scalar('val/swd/avg').current())  # mmagic's val loop ran
    grids = glob.glob(osp.join(runner.log_dir, 'vis_data', 'vis_image', 'fake_img_*.png'))
    assert len(grids) == 2  # iterations 2 and 4
