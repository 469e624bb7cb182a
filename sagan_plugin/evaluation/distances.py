"""The distances OfflineFID computes from features, as plain functions of numpy arrays.

FID by ``eigh`` (:func:`frechet_distance`), KID and precision/recall by torch-fidelity (in float64 / float32),
and the option dicts of the metric (:func:`options`).
"""
import hashlib
from collections import OrderedDict
from typing import Optional, Tuple, Union

import numpy as np
import torch
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

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


def options(value: Union[bool, dict, None], defaults: dict, what: str) -> Optional[dict]:
    """None/False -> None (off); True -> defaults; dict -> defaults updated, unknown keys rejected."""
    if not value:
        return None
    if value is not True and not isinstance(value, dict):
        raise ValueError(f'{what} must be True, False or a dict over {sorted(defaults)}, got {value!r}')
    unknown = set() if value is True else set(value) - set(defaults)
    if unknown:
        raise ValueError(f'unknown {what} option(s) {sorted(unknown)}; allowed: {sorted(defaults)}')
    return dict(defaults) if value is True else {**defaults, **value}


_ROOTS: 'OrderedDict[str, np.ndarray]' = OrderedDict()  # the last few roots, by the matrix's bytes
_ROOTS_KEPT = 2


def psd_sqrt(cov: np.ndarray) -> np.ndarray:
    """Symmetric square root of a PSD matrix [D, D] (eigenvalues below 0 from round-off are clipped to 0).

    Remembered for the last two matrices (by a hash of their bytes): a sweep, a comparison or a report scores
    many sets against one real covariance, and its 2048 x 2048 ``eigh`` takes seconds on a CPU.
    """
    cov = np.ascontiguousarray(cov, np.float64)
    key = hashlib.sha1(cov.tobytes()).hexdigest() + str(cov.shape)
    if key not in _ROOTS:
        eigvals, eigvecs = np.linalg.eigh(cov)
        _ROOTS[key] = (eigvecs * np.sqrt(np.clip(eigvals, 0, None))) @ eigvecs.T
        _ROOTS[key].setflags(write=False)  # shared: a caller must not change it in place
        while len(_ROOTS) > _ROOTS_KEPT:
            _ROOTS.popitem(last=False)
    _ROOTS.move_to_end(key)
    return _ROOTS[key]


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
    out = kid_features_to_metric(fake, real, verbose=False, **{KID_KWARGS[k][0]: v for k, v in kid.items()})
    return dict(kid=out[KEY_METRIC_KID_MEAN], kid_std=out[KEY_METRIC_KID_STD])


def precision_recall(fake: np.ndarray, real: np.ndarray, k: int = 3, batch_size: int = 10000) -> dict:
    """Improved precision/recall (Kynkäänniemi et al. 2019) of ``fake`` [N1, D] vs ``real`` [N2, D]."""
    fake, real = (torch.from_numpy(np.asarray(a, np.float32)) for a in (fake, real))
    out = prc_features_to_metric(
        fake, real, verbose=False, prc_neighborhood=k, prc_batch_size=batch_size, save_cpu_ram=True)
    return dict(precision=out['precision'], recall=out['recall'])
