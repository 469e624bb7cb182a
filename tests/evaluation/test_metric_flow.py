"""The metrics inside mmagic's Evaluator, as MultiTestLoop drives them, and the configs that declare them."""
import logging
import os.path as osp
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MMLogger
from torch.utils.data import DataLoader

from sagan_plugin.evaluation import frechet_distance
from sagan_plugin.registry import EVALUATORS, METRICS, MODELS
from tests.conftest import REPO
from .conftest import extract, fashion_images
from .test_stats_cache import fashion_dataset

NUM = 16


def tinted(images: torch.Tensor) -> torch.Tensor:
    """Colour grey images (R full, G half, B a fifth) so that a swapped channel order changes the features."""
    return (images.float() * torch.tensor([1.0, 0.5, 0.2]).view(1, 3, 1, 1)).round().to(torch.uint8)


@pytest.fixture
def log_lines():
    """Messages logged through MMEngine's current logger (where print_log(..., 'current') goes)."""
    lines, handler = [], logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


def test_evaluator_flow_gives_every_key_and_the_right_numbers(fid_inception, tmp_path, log_lines):
    metrics = [
        dict(
            type='OfflineFID',
            prefix='FID',
            fake_nums=NUM,
            real_nums=NUM,
            inception_pkl=str(tmp_path / 's.pkl'),
            kid=dict(subsets=10, subset_size=8),
            precision_recall=True),
        dict(type='ClassifierScore', fake_nums=NUM, splits=2),
    ]
    evaluator = EVALUATORS.build(dict(type='Evaluator', metrics=metrics))
    module = SimpleNamespace(data_preprocessor=MODELS.build(dict(type='DataPreprocessor')))
    loader = DataLoader(fashion_dataset(), batch_size=8, collate_fn=pseudo_collate)
    evaluator.prepare_metrics(module, loader)  # real statistics of the first 16 test images
    fakes_rgb = tinted(fashion_images('train', 0, NUM))
    for batch in fakes_rgb.split(8):  # what the model hands the evaluator: BGR floats in 0..255
        samples = [dict(fake_img=img[[2, 1, 0]].float()) for img in batch]
        evaluator.process(samples, None, evaluator.metrics)
    result = evaluator.evaluate()
    expected = {f'FID/{k}' for k in ('fid', 'mean', 'cov', 'kid', 'kid_std', 'precision', 'recall')}
    assert expected <= set(result) and any('classifier_score' in k for k in result)
    fake = extract(fid_inception, fakes_rgb).astype(np.float64)
    stats = evaluator.metrics[0]
    direct = frechet_distance(fake.mean(0), np.cov(fake, rowvar=False), stats.real_mean, stats.real_cov)[0]
    assert result['FID/fid'] == pytest.approx(direct, rel=1e-4)  # channel order and quantisation as expected
    # progress while sampling: count, rate and time left per metric, at the first batch and at the end
    for metric in ('OfflineFID', 'ClassifierScore'):
        progress = [line for line in log_lines if line.startswith(f'{metric}: ') and 'generated' in line]
        assert [line.split(',')[0] for line in progress
                ] == [f'{metric}: 8/16 generated images', f'{metric}: 16/16 generated images'], log_lines
        assert re.fullmatch(rf'{metric}: 16/16 generated images, [\d.]+ images/s, about 0 s left',
                            progress[-1])


@pytest.mark.parametrize('config', ['fashion_mnist_fid.py', 'imagenet_is_fid_50k.py'])
def test_evaluation_configs_declare_our_metrics_and_allow_overrides(config):
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'evaluation', config))
    cfg.merge_from_dict({'test_evaluator.metrics.0.fake_nums': 123})
    assert cfg.test_evaluator.metrics[0].fake_nums == 123
    assert cfg.test_cfg.type == 'MultiTestLoop' and cfg.val_cfg.type == 'MultiValLoop'
    types = [m.type for m in cfg.test_evaluator.metrics]
    assert all(METRICS.get(t) is not None for t in types)
    assert 'OfflineFID' in types


def test_fashion_config_metrics_build_offline():
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'evaluation', 'fashion_mnist_fid.py'))
    built = [METRICS.build(m) for m in cfg.test_evaluator.metrics]
    assert [type(m).__name__ for m in built] == ['OfflineFID', 'ClassifierScore']
    assert built[0].kid_cfg['subset_size'] <= built[0].real_nums <= built[0].fake_nums
