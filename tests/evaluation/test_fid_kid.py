"""Our FID / KID / precision-recall against torch-fidelity's ``calculate_metrics`` with the same weights."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmagic.evaluation.metrics import FrechetInceptionDistance, PrecisionAndRecall
from torch.utils.data import Dataset
from torch_fidelity import calculate_metrics

from sagan_plugin.evaluation import OfflineFID, frechet_distance, kernel_distance, precision_recall

KID_SUBSET = 50  # < N_IMAGES, so that the subsets differ
KID_SUBSETS = 20


class UInt8Images(Dataset):
    """A tensor of uint8 [N, 3, H, W] images as the Dataset torch-fidelity takes."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


def our_metrics(fake: np.ndarray, real: np.ndarray) -> dict:
    """What OfflineFID computes: our Fréchet distance, torch-fidelity's KID and precision/recall."""
    real64 = real.astype(np.float64)
    fid, _, _ = frechet_distance(
        fake.mean(0), np.cov(fake, rowvar=False), real64.mean(0), np.cov(real64, rowvar=False))
    kid = kernel_distance(fake, real, subsets=KID_SUBSETS, subset_size=KID_SUBSET)
    return dict(fid=fid, **kid, **precision_recall(fake, real, k=3))


@pytest.fixture(scope='module')
def ours(our_features) -> dict:
    """Our metrics of test-vs-train, noise-vs-train and train-vs-train (each costs seconds: computed once)."""
    return {
        fake: our_metrics(our_features[fake], our_features['train'])
        for fake in ('test', 'noise', 'train')
    }


@pytest.fixture(scope='module')
def reference(image_sets, torch_fidelity_weights, tmp_path_factory) -> dict:
    """torch-fidelity's FID, KID, precision/recall of (test, train) and (noise, train), its own Inception."""
    cache = str(tmp_path_factory.mktemp('torch_fidelity_cache'))  # the train features are extracted once
    out = {}
    for fake in ('test', 'noise'):
        out[fake] = calculate_metrics(
            input1=UInt8Images(image_sets[fake]),
            input2=UInt8Images(image_sets['train']),
            fid=True,
            kid=True,
            prc=True,
            feature_extractor='inception-v3-compat',
            feature_extractor_weights_path=torch_fidelity_weights,
            kid_subsets=KID_SUBSETS,
            kid_subset_size=KID_SUBSET,
            cuda=False,
            batch_size=25,
            cache=True,
            cache_root=cache,
            input2_cache_name='fashion_train_100',
            verbose=False,
            save_cpu_ram=True)  # save_cpu_ram: no DataLoader workers on the shared 2 cores
    return out


@pytest.mark.parametrize('fake', ['test', 'noise'])
@pytest.mark.parametrize('ours_key, theirs_key', [('fid', 'frechet_inception_distance'),
                                                  ('kid', 'kernel_inception_distance_mean'),
                                                  ('kid_std', 'kernel_inception_distance_std')])
def test_matches_torch_fidelity_within_1e3(ours, reference, fake, ours_key, theirs_key):
    assert ours[fake][ours_key] == pytest.approx(reference[fake][theirs_key], rel=1e-3)


@pytest.mark.parametrize('fake', ['test', 'noise'])
@pytest.mark.parametrize('key', ['precision', 'recall'])
def test_precision_recall_match_torch_fidelity(ours, reference, fake, key):
    """mmagic rounds k-NN radii to float16, so a sample on a ball's edge may flip: allow 2 of 100."""
    assert ours[fake][key] == pytest.approx(reference[fake][key], abs=0.02)


@pytest.mark.parametrize('k', [3, 5])
@pytest.mark.parametrize('fake, real', [('test', 'train'), ('noise', 'train'), ('train', 'test')])
def test_precision_recall_equal_mmagics_arithmetic(our_features, fake, real, k):
    """torch-fidelity's precision/recall (what OfflineFID reports) equals mmagic's PrecisionAndRecall
    (NVIDIA's arithmetic, radii rounded to float16) on the same features. mmagic's metric cannot be built
    offline (it loads VGG16), so its compute_metrics runs with a stand-in for self."""
    state = SimpleNamespace(
        results_real=torch.from_numpy(our_features[real]),
        collect_device='cpu',
        k=k,
        row_batch_size=10000,
        col_batch_size=10000)
    theirs = PrecisionAndRecall.compute_metrics(state, list(torch.from_numpy(our_features[fake]).split(1)))
    ours = precision_recall(our_features[fake], our_features[real], k=k)
    assert (ours['precision'], ours['recall']) == (theirs['precision'], theirs['recall'])


def test_fid_on_real_data_is_small_and_on_noise_large(ours):
    """Sanity on real data: two disjoint Fashion-MNIST slices are close, noise is far (N=100 each).

    Measured: FID 97 (real) vs 434 (noise), KID 0.0014 vs 0.54; FID at N=100 carries a large small-sample
    bias.
    """
    real_vs_real, noise_vs_real = ours['test'], ours['noise']
    assert real_vs_real['fid'] < 150 < 300 < noise_vs_real['fid']
    assert real_vs_real['kid'] < 0.02 < 0.2 < noise_vs_real['kid']
    assert noise_vs_real['precision'] == 0 and real_vs_real['precision'] > 0.5


def test_identical_sets_give_zero_fid_and_full_precision_recall(ours):
    same = ours['train']
    assert abs(same['fid']) < 1e-3
    assert same['precision'] == same['recall'] == 1
    assert abs(same['kid']) < 0.02  # unbiased: independent subsets of one set scatter around 0


@pytest.mark.parametrize('num, dim', [(500, 64), (40, 64)], ids=['full-rank', 'singular-covariance'])
def test_frechet_distance_equals_mmagics_sqrtm_form(num, dim):
    """Same value as mmagic's ``scipy.linalg.sqrtm`` arithmetic (small D keeps sqrtm fast)."""
    gen = np.random.default_rng(num)
    a, b = gen.normal(size=(num, dim)), gen.normal(0.3, 1.2, size=(num, dim))**2
    stats = (a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    for ours_term, mmagic_term in zip(frechet_distance(*stats), FrechetInceptionDistance._calc_fid(*stats)):
        assert ours_term == pytest.approx(mmagic_term, rel=1e-6, abs=1e-6)


def test_kid_refuses_subsets_larger_than_the_sets(our_features):
    with pytest.raises(ValueError, match='subset_size 1000 is larger than the number of samples'):
        kernel_distance(our_features['test'], our_features['train'])


def test_kid_subset_larger_than_sample_count_fails_before_sampling():
    with pytest.raises(
            ValueError, match=r'subset_size 1000 is larger than the number of samples \(generated 500'):
        OfflineFID(fake_nums=500, real_nums=2000, kid=True)
