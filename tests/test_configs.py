"""Every experiment config loads and builds its model in our scope."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from sagan_plugin.registry import MODELS
from tests.conftest import REPO

CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs',
                                    '*.py'))) + [osp.join(REPO, 'tests', 'data', 'tiny_demo.py')]


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_loads_and_builds_its_model(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'sagan_plugin'
    assert cfg.custom_imports == dict(imports=['sagan_plugin'], allow_failed_imports=False)
    if cfg.model.get('num_classes') == 'from_folder':  # counted from the folder at launch:
        cfg.model.num_classes = 3  # tests/datasets/test_folder_configs.py runs that path on a folder
    model = MODELS.build(cfg.model)
    assert type(model).__module__.startswith('sagan_plugin.')
    assert type(model.generator).__name__ == 'SAGANGenerator'
    assert type(model.discriminator).__name__ == 'SAGANDiscriminator'


def test_imagenet_config_is_the_papers_setup():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'sagan_imagenet128.py'))
    assert cfg.model.num_classes == 1000
    assert cfg.model.generator.output_scale == cfg.model.discriminator.input_scale == 128
    assert cfg.model.generator.attention_at == cfg.model.discriminator.attention_at == (64, )
    assert (cfg.optim_wrapper.generator_lr, cfg.optim_wrapper.discriminator_lr) == (1e-4, 4e-4)
    assert tuple(cfg.optim_wrapper.betas) == (0.0, 0.9)
    assert cfg.model.discriminator_steps == 1 and cfg.train_dataloader.batch_size == 64
    assert cfg.train_cfg.max_iters == 1_000_000
    assert cfg.train_dataloader.dataset.ann_file == 'meta/train.txt'


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_experiment_files_are_short(path):
    with open(path) as f:
        assert len(f.readlines()) <= 60
