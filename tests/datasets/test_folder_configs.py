"""The folder configs: only the folder is needed, the classes come from it, and a run trains on it."""
import os.path as osp

import pytest
from mmengine.config import Config

from sagan_plugin.datasets.folder_classes import resolve_num_classes
from sagan_plugin.engine.launch import merge_cfg_options
from sagan_plugin.registry import DATASETS, MODELS
from tests.conftest import REPO, build_runner
from tests.datasets.test_image_folder import make_folder, write_image


def folder_config(name, root, tmp_path):
    """``configs/<name>`` moved to ``root`` as ``--data-root`` does, with its caches under ``tmp_path``."""
    path = osp.join(REPO, 'configs', name)
    cfg = Config.fromfile(path)
    merge_cfg_options(cfg, dict(data_root=str(root)), path)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.cache = str(tmp_path / f'{osp.splitext(name)[0]}.npy')
    resolve_num_classes(cfg)
    return cfg


@pytest.mark.parametrize('name, size', [('sagan_folder_32.py', 32), ('sagan_folder_64.py', 64),
                                        ('sagan_folder_128.py', 128), ('sagan_openclipart_32.py', 32)])
def test_only_the_folder_is_needed(tmp_path, name, size):
    root = make_folder(tmp_path / 'my data', classes=('a b', 'c', 'd'), per_class=20)
    cfg = folder_config(name, root, tmp_path)
    assert cfg.model.num_classes == 3
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.data_root == str(root) and cfg[loader].dataset.image_size == size
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert dataset.metainfo['classes'] == ('a b', 'c', 'd')
    assert dataset[0]['data_samples'].gt_img.shape == (3, size, size)
    assert cfg.model.generator.output_scale == cfg.model.discriminator.input_scale == size
    if name == 'sagan_openclipart_32.py':  # the small networks build in a moment (the others in 5-30 s)
        assert MODELS.build(cfg.model).num_classes == 3


def test_explicit_num_classes_must_match_the_folder(tmp_path):
    root = make_folder(tmp_path / 'data', classes=('a', 'b'))
    path = osp.join(REPO, 'configs', 'sagan_folder_32.py')
    cfg = Config.fromfile(path)
    merge_cfg_options(cfg, {'data_root': str(root), 'model.num_classes': 10}, path)
    with pytest.raises(ValueError, match=r'model.num_classes=10 but .* has 2 class folders \(a, b\)'):
        resolve_num_classes(cfg)


def test_two_iterations_on_a_folder_with_diff_augment(tmp_path):
    """The whole path: Runner, ImageFolder with its cache, SAGAN with DiffAugment, the sample grid."""
    root = make_folder(tmp_path / 'data', classes=('a', 'b'), per_class=3)
    write_image(root / 'a' / 'deep' / 'x.png', mode='RGBA', colour=(0, 0, 0, 0))
    cfg = folder_config('sagan_folder_32.py', root, tmp_path)
    cfg.merge_from_dict({
        'work_dir': str(tmp_path / 'work'),
        'model.generator.channels': (16, 8, 8, 8),
        'model.generator.noise_size': 8,
        'model.discriminator.channels': (8, 8, 8, 16),
        'model.diff_augment': 'color,translation,cutout',
        'train_dataloader.batch_size': 4,
        'train_cfg.max_iters': 2,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 2,
        'default_hooks.checkpoint.save_best': None,
    })
    cfg.custom_hooks = [
        dict(
            type='VisualizationHook',
            interval=2,
            fixed_input=True,
            n_samples=4,
            n_row=2,
            vis_kwargs_list=dict(type='GAN', name='fake_img', label='cycle')),
        dict(type='AttentionVisualizationHook', interval=2, num_images=3, num_queries=1, panel_size=32),
    ]
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.visualizer = dict(type='Visualizer', vis_backends=[dict(type='VisBackend')])
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == 2 and osp.isfile(osp.join(cfg.work_dir, 'iter_2.pth'))
    assert runner.model.diff_augment == ['color', 'translation', 'cutout']
    attention = [hook for hook in runner.hooks if type(hook).__name__ == 'AttentionVisualizationHook'][0]
    assert attention.titles == ['a', 'b', 'a']  # the figure's rows carry the folder's class names
    assert osp.isfile(osp.join(runner.log_dir, 'vis_data', 'vis_image', 'attention_2.png'))
