"""Our FID / KID / precision-recall against torch-fidelity's ``calculate_metrics`` with the same weights."""
import numpy as np
import pytest
import torch
from torch.utils.data import Dataset
from torch_fidelity import calculate_metrics

from sagan_plugin.evaluation import OfflineFID, kid_from_features
from sagan_plugin.evaluation.feature_metrics import precision_recall

KID_SUBSET = 50  # < N_IMAGES so that the 100 subsets differ
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
    """FID by mmagic's arithmetic (which OfflineFID inherits), our KID, mmagic's precision/recall."""
    real64 = real.astype(np.float64)
    fid, _, _ = OfflineFID._calc_fid(fake.mean(0), np.cov(fake, rowvar=False), real64.mean(0),
                                     np.cov(real64, rowvar=False))
    kid = kid_from_features(fake, real, subsets=KID_SUBSETS, subset_size=KID_SUBSET)
    return dict(fid=fid, **kid, **precision_recall(torch.from_numpy(fake), real, k=3))


@pytest.fixture(scope='module')
def reference(image_sets, torch_fidelity_weights) -> dict:
    """torch-fidelity's FID, KID and precision/recall of (test, train) and (noise, train), its own Inception."""
    out = {}
    for fake in ('test', 'noise'):
        out[fake] = calculate_metrics(
            input1=UInt8Images(image_sets[fake]), input2=UInt8Images(image_sets['train']), fid=True, kid=True,
            prc=True, feature_extractor='inception-v3-compat', feature_extractor_weights_path=torch_fidelity_weights,
            kid_subsets=KID_SUBSETS, kid_subset_size=KID_SUBSET, cuda=False, batch_size=25, cache=False,
            verbose=False, save_cpu_ram=True)  # save_cpu_ram: no DataLoader workers on the shared 2 cores
    return out


@pytest.mark.parametrize('fake', ['test', 'noise'])
@pytest.mark.parametrize('ours_key, theirs_key', [('fid', 'frechet_inception_distance'),
                                                  ('kid', 'kernel_inception_distance_mean'),
                                                  ('kid_std', 'kernel_inception_distance_std')])
def test_matches_torch_fidelity_within_1e3(our_features, reference, fake, ours_key, theirs_key):
    ours = our_metrics(our_features[fake], our_features['train'])[ours_key]
    theirs = reference[fake][theirs_key]
    assert ours == pytest.approx(theirs, rel=1e-3)


@pytest.mark.parametrize('fake', ['test', 'noise'])
@pytest.mark.parametrize('key', ['precision', 'recall'])
def test_precision_recall_match_torch_fidelity(our_features, reference, fake, key):
    """mmagic rounds the k-NN radii to float16, so a sample exactly on a ball's edge may flip: allow 2 of 100."""
    ours = our_metrics(our_features[fake], our_features['train'])[key]
    assert ours == pytest.approx(reference[fake][key], abs=0.02)


def test_fid_on_real_data_is_small_and_on_noise_large(our_features):
    """Sanity on real data: two disjoint Fashion-MNIST slices are close, noise is far (N=100 each)."""
    real_vs_real = our_metrics(our_features['test'], our_features['train'])
    noise_vs_real = our_metrics(our_features['noise'], our_features['train'])
    assert real_vs_real['fid'] < 60 < 250 < noise_vs_real['fid']
    assert real_vs_real['kid'] < 0.02 < 0.2 < noise_vs_real['kid']
    assert noise_vs_real['precision'] == 0 and real_vs_real['precision'] > 0.5


def test_identical_sets_give_zero(our_features):
    feats = our_features['train']
    same = our_metrics(feats, feats)
    assert abs(same['fid']) < 1e-3 and abs(same['kid']) < 1e-6
    assert same['precision'] == same['recall'] == 1


def test_kid_refuses_subsets_larger_than_the_sets(our_features):
    with pytest.raises(ValueError, match='subset_size 1000 is larger than the number of samples'):
        kid_from_features(our_features['test'], our_features['train'])
