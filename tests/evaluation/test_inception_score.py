"""IS: the metrics' arithmetic (OfflineIS, ClassifierScore) vs torch-fidelity and mmagic; the weights file."""
import numpy as np
import pytest
import torch
from mmagic.evaluation.metrics import InceptionScore
from torch_fidelity.metric_isc import isc_features_to_metric

from sagan_plugin.evaluation import ClassifierScore, FIDInceptionV3, OfflineIS, torch_fidelity_state_dict
from sagan_plugin.evaluation.weights import TORCH_FIDELITY_INCEPTION, is_inception_path
from tests.conftest import free_port
from .conftest import extract


@pytest.fixture(scope='module')
def score_metric():
    """A metric that runs the IS arithmetic (constructible offline: its network ships)."""
    return ClassifierScore(fake_nums=1000, splits=10)


def score(metric, probs: torch.Tensor, splits: int) -> dict:
    """IS mean/std of probability rows [N, C] through the metric's compute_metrics (which takes logits)."""
    metric.fake_nums, metric.splits = len(probs), splits
    out = metric.compute_metrics(list(probs.clamp_min(1e-30).log().split(1)))
    return dict(mean=out['classifier_score'], std=out['classifier_score_std'])


@pytest.mark.parametrize('splits', [1, 10])
@pytest.mark.parametrize('temperature', [0.5, 3.0])
def test_is_arithmetic_equals_torch_fidelity_on_the_same_logits(score_metric, splits, temperature):
    logits = torch.randn(1000, 1008, generator=torch.Generator().manual_seed(splits)) * temperature
    ours = score(score_metric, logits.double().softmax(1).float(), splits)
    theirs = isc_features_to_metric(logits, splits=splits, shuffle=False)
    assert ours['mean'] == pytest.approx(theirs['inception_score_mean'], rel=1e-5)
    assert ours['std'] == pytest.approx(theirs['inception_score_std'], rel=1e-3, abs=1e-6)


@pytest.mark.parametrize('splits', [1, 10])
def test_is_arithmetic_equals_mmagics_inception_score(score_metric, splits, tmp_path):
    """mmagic's own InceptionScore.compute_metrics on the same probabilities (its network is any TorchScript
    here: compute_metrics does not use it)."""
    any_script = str(tmp_path / 'identity.pt')
    torch.jit.save(torch.jit.script(torch.nn.Identity()), any_script)
    stock = InceptionScore(
        fake_nums=1000, splits=splits, inception_style='StyleGAN', inception_path=any_script)
    probs = (torch.randn(1000, 1008, generator=torch.Generator().manual_seed(splits)) * 3).softmax(1)
    theirs = stock.compute_metrics(list(probs.split(1)))
    ours = score(score_metric, probs, splits)
    assert ours['mean'] == pytest.approx(theirs['is'], rel=1e-5)
    assert ours['std'] == pytest.approx(theirs['is_std'], rel=1e-3, abs=1e-6)


def test_uniform_predictions_give_one(score_metric):
    assert score(score_metric, torch.full((100, 1008), 1 / 1008), 10)['mean'] == pytest.approx(1, abs=1e-5)


@pytest.mark.parametrize('num_classes', [2, 10, 1000])
def test_balanced_one_hot_over_k_classes_gives_k(score_metric, num_classes):
    labels = torch.arange(10 * num_classes) % num_classes  # each of the 10 splits holds every class once
    probs = torch.nn.functional.one_hot(labels, 1008).float()
    assert score(score_metric, probs, 10)['mean'] == pytest.approx(num_classes, rel=1e-5)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """torch-fidelity's URL points at a port nobody listens on; torch.hub's folder and relative paths in
    tmp_path."""
    monkeypatch.setitem(TORCH_FIDELITY_INCEPTION, 'url', f'http://127.0.0.1:{free_port()}/weights.pth')
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize('path', [None, 'work_dirs/no/such/weights-inception-2015-12-05-6726825d.pth'])
def test_missing_is_inception_names_file_checksum_and_url(path, offline):
    with pytest.raises(FileNotFoundError) as err:
        OfflineIS(fake_nums=10, inception_path=path)
    message = str(err.value)
    for expected in (path or 'weights-inception-2015-12-05-6726825d.pth', TORCH_FIDELITY_INCEPTION['sha256'],
                     TORCH_FIDELITY_INCEPTION['url'], 'put it at'):
        assert expected in message


def test_wrong_is_inception_file_is_refused(tmp_path):
    wrong = tmp_path / 'weights-inception-2015-12-05-6726825d.pth'
    wrong.write_bytes(b'not the inception' * 100)
    with pytest.raises(ValueError, match=f'(?s)has sha256 .*expected {TORCH_FIDELITY_INCEPTION["sha256"]}'):
        is_inception_path(str(wrong))


def test_torch_fidelity_file_network_is_softmax_of_pool3_times_fc(fid_inception, image_sets):
    """The torch-fidelity-file path: torch-fidelity's network with our pool3 weights and a classifier (here a
    random one) gives softmax(pool3 @ Wᵀ [+ b])."""
    gen = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(1008, 2048, generator=gen) * 0.01, torch.randn(1008, generator=gen)
    net = FIDInceptionV3(
        state_dict=dict(torch_fidelity_state_dict(), **{
            'fc.weight': weight,
            'fc.bias': bias
        }))
    images = image_sets['test'][:2]
    feats = torch.from_numpy(extract(fid_inception, images))
    with torch.no_grad():
        without_bias = net(images, return_features=False, no_output_bias=True)
        with_bias = net(images, return_features=False)
    torch.testing.assert_close(without_bias, (feats @ weight.T).softmax(1))
    torch.testing.assert_close(with_bias, (feats @ weight.T + bias).softmax(1))
    assert np.allclose(with_bias.sum(1).numpy(), 1)
