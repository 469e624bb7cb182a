"""FD / KD in a timm backbone's feature space from a local weights file (EfficientNet-Lite0's, mapped)."""
import numpy as np
import pytest
import torch

from sagan_plugin.evaluation import (TimmFD, TimmFeatureExtractor, export_effnet_lite0_timm_weights,
                                     frechet_distance)
from .conftest import extract

MODEL = 'tf_efficientnet_lite0'


@pytest.fixture(scope='module')
def weights(tmp_path_factory) -> str:
    """The shipped EfficientNet-Lite0 weights as a plain timm state dict: a "downloaded" backbone file."""
    return export_effnet_lite0_timm_weights(str(tmp_path_factory.mktemp('timm') / f'{MODEL}.pth'))


@pytest.fixture(scope='module')
def timm_features(weights, image_sets) -> dict:
    net = TimmFeatureExtractor(MODEL, weights)
    return {name: extract(net, images) for name, images in image_sets.items()}


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))[0]


def test_fd_in_the_backbone_space_separates_real_from_noise(timm_features):
    assert timm_features['train'].shape == (100, 1280)  # EfficientNet-Lite0's pooled features
    real_vs_real = frechet(timm_features['test'], timm_features['train'])
    noise_vs_real = frechet(timm_features['noise'], timm_features['train'])
    assert noise_vs_real > 3 * real_vs_real > 0  # measured: 351 vs 80


def test_timm_fd_metric_reports_fd_and_kd(weights, timm_features):
    metric = TimmFD(
        fake_nums=100,
        model_name=MODEL,
        weights=weights,
        kid=dict(subsets=10, subset_size=50),
        precision_recall=True)
    real = timm_features['train']
    metric.real_mean, metric.real_cov, metric.real_feats = real.mean(0), np.cov(real, rowvar=False), real
    result = metric.compute_metrics(list(torch.from_numpy(timm_features['test']).split(1)))
    assert {'fd', 'kd', 'kd_std', 'precision', 'recall'} <= set(result) and 'fid' not in result
    assert result['fd'] == pytest.approx(frechet(timm_features['test'], real), rel=1e-6)
    assert metric.prefix == f'FD-{MODEL}'
    assert metric.inception.identity()['name'] == f'timm:{MODEL}'


def test_missing_backbone_weights_say_nothing_is_downloaded(tmp_path):
    with pytest.raises(FileNotFoundError, match='(?s)not found.*Nothing is downloaded'):
        TimmFD(fake_nums=10, model_name=MODEL, weights=str(tmp_path / 'missing.safetensors'))


def test_weights_of_another_architecture_are_refused(weights):
    with pytest.raises(ValueError, match="does not fit timm's resnet18"):
        TimmFeatureExtractor('resnet18', weights)
