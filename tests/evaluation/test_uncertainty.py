"""Bootstrap intervals, FID∞, the real-vs-real floor and Welch's test, each against a direct computation."""
import numpy as np
import pytest
import torch
from scipy.stats import ttest_ind
from torch.utils.data import DataLoader

from sagan_plugin.evaluation import OfflineFID, frechet_distance, kernel_distance
from sagan_plugin.evaluation.fid_infinity import fid_infinity
from sagan_plugin.evaluation.floor import floor_indices
from sagan_plugin.evaluation.uncertainty import (FrechetToReal, KernelToReal, bootstrap, bootstrap_difference,
                                                 welch)
from sagan_plugin.registry import DATASETS, EVALUATORS, MODELS
from .conftest import extract
from .test_stats_cache import fashion_dataset


def gaussian(rng, n: int, d: int, shift: float = 0.0) -> np.ndarray:
    """[n, d] normal rows with standard deviations 0.5..2 along the axes, moved by ``shift``."""
    return rng.normal(size=(n, d)) * np.linspace(0.5, 2, d) + shift


@pytest.mark.parametrize('n, d', [(30, 64), (200, 16)])  # N < D (Gram matrices) and N >= D
def test_frechet_to_real_equals_frechet_distance(n, d):
    rng = np.random.default_rng(n)
    real, fake = gaussian(rng, 300, d), gaussian(rng, n, d, shift=0.3)

    def direct(f: np.ndarray) -> tuple:
        return frechet_distance(f.mean(0), np.cov(f, rowvar=False), real.mean(0), np.cov(real, rowvar=False))

    fast = FrechetToReal(real.mean(0), np.cov(real, rowvar=False))
    np.testing.assert_allclose(fast.terms(fake), direct(fake), rtol=1e-6)
    idx = rng.integers(0, n, n)  # a bootstrap round: repeated rows
    np.testing.assert_allclose(fast.prepare(fake).terms(idx), direct(fake[idx]), rtol=1e-6)


def test_kernel_to_real_equals_torch_fidelity():
    rng = np.random.default_rng(0)
    real, fake = gaussian(rng, 60, 8), gaussian(rng, 50, 8, shift=0.2)
    kid = KernelToReal(real, subsets=7, subset_size=20)
    assert kid(fake) == pytest.approx(kernel_distance(fake, real, subsets=7, subset_size=20)['kid'], rel=1e-9)
    idx = rng.integers(0, 50, 50)
    small = KernelToReal(real, max_elements=0, subsets=7, subset_size=20)  # the per-subset path
    assert kid.prepare(fake)(idx) == pytest.approx(small.prepare(fake)(idx), rel=1e-9)
    assert kid.prepare(fake)(idx) == pytest.approx(
        kernel_distance(fake[idx], real, subsets=7, subset_size=20)['kid'], rel=1e-9)


def expected_fid(rng, n: int, d: int, frechet: FrechetToReal, draws: int = 400) -> float:
    """E[FID at n] of the generator N(0.5, diag) against the fixed real statistics, by fresh draws."""
    return float(np.mean([frechet(gaussian(rng, n, d, shift=0.5)) for _ in range(draws)]))


def test_bootstrap_interval_covers_the_expected_fid_and_shrinks_with_n():
    """Over fresh generated sets, the interval holds E[FID_N] about as often as its level says, although
    FID_N is biased (the bias shift); at 4x the samples it is about half as wide."""
    rng, d = np.random.default_rng(1), 4
    real = gaussian(rng, 5000, d)
    frechet = FrechetToReal(real.mean(0), np.cov(real, rowvar=False))
    widths = {}
    for n in (100, 400):
        truth = expected_fid(rng, n, d, frechet)
        intervals = [
            bootstrap(gaussian(rng, n, d, shift=0.5), frechet, rounds=200, seed=i) for i in range(40)
        ]
        covered = np.mean([r['low'] <= truth <= r['high'] for r in intervals])
        assert covered >= 0.8, (n, covered)
        assert all(r['low'] <= r['estimate'] <= r['high'] for r in intervals)
        widths[n] = np.mean([r['high'] - r['low'] for r in intervals])
    assert 1.6 < widths[100] / widths[400] < 2.5, widths


def test_paired_difference_cancels_what_the_latents_share():
    """b is a plus a little noise, row by row (two checkpoints on the same latents): the paired interval of
    mean(a) - mean(b) is far narrower than the unpaired one, and both hold the difference."""
    rng = np.random.default_rng(2)
    a = rng.normal(size=(300, 1))
    b = a + 0.05 * rng.normal(size=(300, 1))
    mean = lambda f: float(f.mean())  # noqa: E731
    paired = bootstrap_difference(a, b, mean, rounds=300, paired=True)
    unpaired = bootstrap_difference(a, b, mean, rounds=300, paired=False)
    assert paired['difference'] == unpaired['difference'] == pytest.approx(a.mean() - b.mean())
    for r in (paired, unpaired):
        assert r['low'] <= r['difference'] <= r['high']
    assert paired['std'] < unpaired['std'] / 5
    assert paired['std'] == pytest.approx(0.05 / np.sqrt(300), rel=0.3)  # the noise's standard error
    with pytest.raises(ValueError, match='as many rows'):
        bootstrap_difference(a, b[:10], mean, paired=True)


def test_fid_infinity_removes_the_bias_of_n():
    """Generated features from the real distribution itself: FID at N is well above 0, FID∞ near 0 (on
    average over four generated sets: one set's FID∞ still carries that set's noise)."""
    d = 32
    scale = np.linspace(0.5, 2, d)
    frechet = FrechetToReal(np.zeros(d), np.diag(scale**2))  # the exact real statistics
    at_n, at_infinity = [], []
    for seed in range(4):
        fake = np.random.default_rng(seed).normal(size=(2000, d)) * scale
        result = fid_infinity(fake, frechet, num_points=15)
        assert result['slope'] > 0 and len(result['sizes']) == 15 and result['sizes'][-1] == 2000
        assert result['values'][-1] == pytest.approx(frechet(fake))  # the last size is the whole set
        at_n.append(frechet(fake))
        at_infinity.append(result['fid_inf'])
    assert min(at_n) > 0.15
    assert abs(np.mean(at_infinity)) < 0.25 * np.mean(at_n), (at_infinity, at_n)
    assert max(map(abs, at_infinity)) < 0.5 * min(at_n), (at_infinity, at_n)


@pytest.mark.parametrize('call, message', [
    (lambda: bootstrap(np.zeros((5, 2)), np.mean, rounds=1), 'rounds must be an integer >= 2'),
    (lambda: bootstrap(np.zeros((5, 2)), np.mean, level=95), r'level must be in \(0, 1\)'),
    (lambda: fid_infinity(np.zeros((5, 2)), np.mean, num_points=1), 'num_points must be an integer >= 2'),
    (lambda: OfflineFID(fake_nums=8, bootstrap=dict(round=3)), r"unknown bootstrap option\(s\) \['round'\]"),
    (lambda: OfflineFID(fake_nums=8, fid_infinity=dict(points=3)), r"fid_infinity option\(s\) \['points'\]"),
    (lambda: OfflineFID(fake_nums=8, bootstrap='yes'), 'bootstrap must be True, False or a dict'),
    (lambda: OfflineFID(fake_nums=8, floor=dict(seed=1)), 'floor needs dataset='),
    (lambda: OfflineFID(fake_nums=8, floor=dict(dataset={}, pkl='x')),
     r"unknown floor option\(s\) \['pkl'\]"),
    (lambda: OfflineFID(fake_nums=8, inception_pkl='a.pkl', floor=dict(dataset={}, inception_pkl='a.pkl')),
     'is the real statistics file'),
])
def test_bad_options_name_the_key_or_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_welch_is_scipys():
    x, y = [3.0, 4.5, 5.0, 4.0], [1.0, 2.5, 2.0]
    result = ttest_ind(x, y, equal_var=False)
    assert welch(x, y) == dict(difference=pytest.approx(4.125 - 11 / 6), t=result.statistic, p=result.pvalue)
    with pytest.raises(ValueError, match='two values a side'):
        welch([1.0], y)


NUM = 8
FLOOR_DATASET = dict(
    type='FashionMNIST',
    split='train',
    num_samples=40,
    pipeline=[dict(type='Resize', keys='gt', scale=(32, 32), backend='pillow'),
              dict(type='PackInputs')])


def evaluate(metric_cfg: dict, fakes_rgb: torch.Tensor) -> dict:
    """An mmagic Evaluator with one metric: real statistics of the first test images, then the fakes."""
    evaluator = EVALUATORS.build(dict(type='Evaluator', metrics=[metric_cfg]))
    module = type('Module', (), dict(data_preprocessor=MODELS.build(dict(type='DataPreprocessor'))))
    evaluator.prepare_metrics(module, DataLoader(fashion_dataset(), batch_size=8, collate_fn=list))
    evaluator.process([dict(fake_img=img[[2, 1, 0]].float()) for img in fakes_rgb], None, evaluator.metrics)
    return evaluator.evaluate(), evaluator.metrics[0]


def test_floor_bootstrap_and_fid_infinity_in_the_evaluator(fid_inception, tmp_path, mm_log):
    """The floor's images fed as the "generated" ones give fid == fid_floor; the floor's features are the
    Inception's of those images, cached with their seed and reused; the intervals hold the estimates."""
    floor_pkl = str(tmp_path / 'floor.pkl')
    cfg = dict(
        type='OfflineFID',
        prefix='FID',
        fake_nums=NUM,
        real_nums=12,
        inception_pkl=str(tmp_path / 'real.pkl'),  # computed once, read by the later evaluations
        kid=dict(subsets=4, subset_size=6),
        bootstrap=dict(rounds=20, seed=1),
        fid_infinity=dict(num_points=3, min_fraction=0.5),
        floor=dict(dataset=FLOOR_DATASET, inception_pkl=floor_pkl, seed=5))
    floor_set = DATASETS.build(dict(FLOOR_DATASET))  # grey images: RGB and BGR are the same
    floor_rgb = torch.stack(
        [floor_set[int(i)]['data_samples'].gt_img for i in floor_indices(40, NUM, seed=5)])
    result, metric = evaluate(cfg, floor_rgb)
    assert result['FID/fid'] == pytest.approx(result['FID/fid_floor'], rel=1e-6)
    assert result['FID/kid'] == pytest.approx(result['FID/kid_floor'], rel=1e-6)
    np.testing.assert_allclose(metric.floor_feats, extract(fid_inception, floor_rgb), rtol=1e-4, atol=1e-4)
    for key in ('fid', 'kid'):
        assert result[f'FID/{key}_low'] <= result[f'FID/{key}'] <= result[f'FID/{key}_high']
    assert np.isfinite(result['FID/fid_inf'])
    again, _ = evaluate(cfg, floor_rgb)  # a second metric reads the floor's file
    assert any('reusing the floor' in line for line in mm_log)
    assert again['FID/fid_floor'] == pytest.approx(result['FID/fid_floor'], rel=1e-6)
    with pytest.raises(ValueError, match='floor.pkl holds other images'):
        evaluate(dict(cfg, floor=dict(cfg['floor'], seed=6)), floor_rgb)
