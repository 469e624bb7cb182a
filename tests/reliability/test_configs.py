"""Configs and command-line settings that cannot work are refused up front, naming the key and the value."""
import argparse
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from sagan_plugin.engine.launch import load_config
from sagan_plugin.engine.setup_check_hook import SetupCheckHook
from sagan_plugin.registry import MODELS
from tests.conftest import REPO
from tests.reliability.conftest import TINY, tiny_runner

IMAGENET = osp.join(REPO, 'configs', 'sagan_imagenet128.py')


def load(config, work_dir=None, **options):
    args = argparse.Namespace(config=config, cfg_options=options or None, work_dir=work_dir, launcher='none')
    return load_config(args)


def roots(cfg):
    return [cfg[f'{split}_dataloader'].dataset.data_root for split in ('train', 'val', 'test')]


def test_data_root_moves_train_val_and_test_datasets():
    """The README's --cfg-options data_root=/data/imagenet (its end-to-end run is in test_distributed.py)."""
    assert roots(load(IMAGENET)) == ['data/imagenet'] * 3
    assert roots(load(IMAGENET, data_root='/data/imagenet')) == ['/data/imagenet'] * 3


def test_an_explicit_dataset_root_wins_over_data_root():
    cfg = load(IMAGENET, data_root='/data/imagenet', **{'test_dataloader.dataset.data_root': '/elsewhere'})
    assert roots(cfg) == ['/data/imagenet', '/data/imagenet', '/elsewhere']


def test_data_root_in_a_config_without_one_is_an_error(tmp_path):
    config = tmp_path / 'no_root.py'
    config.write_text(f"_base_ = ['{REPO}/configs/_base_/models/sagan_32.py']\n"
                      "train_dataloader = dict(dataset=dict(type='FashionMNIST', data_root='/somewhere'))\n")
    with pytest.raises(KeyError, match=f'data_root=/data: {config} has no top-level data_root'):
        load(str(config), data_root='/data')


def test_data_root_that_no_dataset_reads_is_an_error(tmp_path):
    config = tmp_path / 'unused_root.py'
    config.write_text(f"_base_ = ['{REPO}/configs/_base_/models/sagan_32.py']\ndata_root = 'a'\n"
                      "train_dataloader = dict(dataset=dict(type='FashionMNIST', data_root='b'))\n")
    with pytest.raises(KeyError, match=r'no dataset in .*unused_root.py reads from its data_root \(a\)'):
        load(str(config), data_root='/data')


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='config file .*nothing.py does not exist'):
        load(str(tmp_path / 'nothing.py'))


def test_work_dir_that_is_a_file(tmp_path):
    (tmp_path / 'file').write_text('')
    with pytest.raises(NotADirectoryError, match='work_dir .*file is a file'):
        load(TINY, work_dir=str(tmp_path / 'file'))


def model_cfg(**changes):
    cfg = Config.fromfile(TINY).model
    for key, value in changes.items():
        target = cfg
        *path, last = key.split('.')
        for part in path:
            target = target[part]
        target[last] = value
    return cfg


@pytest.mark.parametrize(
    'changes, match',
    [
        ({
            'generator.num_classes': 5
        }, 'num_classes disagrees: model=10, generator=5'),
        ({
            'discriminator.num_classes': 7
        }, 'num_classes disagrees: model=10, discriminator=7'),
        ({
            'generator.num_classes': 0
        }, 'model=10, generator=0'),  # mmagic lets an explicit 0 pass
        ({
            'num_classes': None,
            'generator.num_classes': 3,
            'discriminator.num_classes': 4
        }, 'generator=3, discrim'),
        ({
            'num_classes': -1
        }, 'model num_classes must be an integer >= 0, got -1'),
        ({
            'discriminator_steps': 0
        }, 'discriminator_steps must be an integer >= 1, got 0'),
        ({
            'generator_steps': 0
        }, 'generator_steps must be an integer >= 1, got 0'),
        ({
            'discriminator_steps': 1.5
        }, 'discriminator_steps must be an integer >= 1, got 1.5'),
        ({
            'compile': True,
            'discriminator.with_cp': True
        }, r'compile=True with SAGANDiscriminator\(with_cp=True\)'),
        ({
            'compile': True,
            'generator.recompute_activations': True
        }, r'compile=True with SAGANGenerator\(recompute_activations=True\)'),
        ({
            'generator.with_cp': True,
            'generator.recompute_activations': True
        }, 'with_cp=True already recomputes every activation'),
    ])
def test_model_settings_that_cannot_train(changes, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(model_cfg(**changes))


@pytest.mark.parametrize('betas', [(0.0, 1.0), (0.9, ), (-0.1, 0.9), (0.0, 0.9, 0.99), 'x'])
def test_malformed_betas_name_betas(betas):
    model = MODELS.build(model_cfg())
    with pytest.raises((ValueError, TypeError), match='betas'):
        build_optim_wrapper(model, dict(Config.fromfile(TINY).optim_wrapper, betas=betas))


def test_dataset_with_other_classes_than_the_model(tmp_path):
    runner = tiny_runner(tmp_path, **{'model.num_classes': 5})
    with pytest.raises(
            ValueError, match=r'model.num_classes=5 but train_dataloader.dataset \(FashionMNIST\) has 10'):
        SetupCheckHook().before_train(runner)


@pytest.mark.parametrize('names', ['generator', ['discriminator.blocks.0']])
def test_mmengine_activation_checkpointing_points_to_with_cp(tmp_path, names):
    runner = tiny_runner(tmp_path)
    runner.cfg.activation_checkpointing = names
    with pytest.raises(ValueError, match='model.generator.with_cp=True'):
        SetupCheckHook().before_train(runner)


def test_batch_of_one_with_batchnorm_warns(tmp_path):
    runner = tiny_runner(tmp_path, **{'train_dataloader.batch_size': 1})
    messages = []
    handler = __import__('logging').Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    runner.logger.addHandler(handler)
    SetupCheckHook().before_train(runner)
    assert any('train_dataloader.batch_size=1 with BatchNorm' in m for m in messages)


def test_misspelt_loop_key_is_named(tmp_path):
    with pytest.raises(TypeError, match='max_iter'):
        tiny_runner(tmp_path, **{'train_cfg.max_iter': 10}).train()


def test_launcher_that_needs_cuda():
    args = argparse.Namespace(config=TINY, cfg_options=None, work_dir=None, launcher='slurm')
    with pytest.raises(RuntimeError, match="launcher 'slurm' needs CUDA"):
        load_config(args)


def test_configs_keep_the_best_fid_checkpoint_and_use_custom_hooks():
    for name, key, hooks in (('sagan_demo_fashion32.py', 'FID/fid',
                              ['VisualizationHook', 'AttentionVisualizationHook']),
                             ('sagan_imagenet128.py', 'FID-50k/fid', ['VisualizationHook'])):
        cfg = Config.fromfile(osp.join(REPO, 'configs', name))
        assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
        assert (cfg.default_hooks.checkpoint.save_best, cfg.default_hooks.checkpoint.rule) == (key, 'less')
        assert key.split('/')[0] in [m.get('prefix') for m in cfg.val_evaluator.metrics]
        assert 'visualization' not in cfg.default_hooks
        assert [h.type for h in cfg.custom_hooks] == hooks
        assert cfg.auto_scale_lr.base_batch_size > 0 and not cfg.auto_scale_lr.enable
