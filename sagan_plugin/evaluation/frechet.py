"""Fréchet distance between two Gaussians, via symmetric eigendecompositions (fast, stable for N < D).

    FD = |μ_1 - μ_2|² + Tr(Σ_1) + Tr(Σ_2) - 2 Tr((Σ_1 Σ_2)^{1/2})

The last trace is computed as ``Σ_i sqrt(λ_i)`` over the eigenvalues λ_i of the symmetric PSD matrix
``M = Σ_2^{1/2} Σ_1 Σ_2^{1/2}``, which has the same eigenvalues as ``Σ_1 Σ_2`` (similar matrices). mmagic's
FID takes ``scipy.linalg.sqrtm(Σ_1 Σ_2)`` (a Schur decomposition of a non-symmetric 2048×2048 matrix, ~40 s on
2 CPU cores, complex round-off when N < 2048 makes Σ singular) and torch-fidelity ``eigvals(Σ_1 Σ_2)``; all
three are equal in exact arithmetic. Here only ``eigh``/``eigvalsh`` of symmetric matrices run, negative
round-off eigenvalues are clipped to 0, and ``Σ_2^{1/2}`` (the real statistics) can be computed once and
reused for every evaluation.
"""
from typing import Optional, Tuple

import numpy as np


def psd_sqrt(cov: np.ndarray) -> np.ndarray:
    """Symmetric square root of a PSD matrix [D, D] (eigenvalues below 0 from round-off are clipped to 0)."""
    eigvals, eigvecs = np.linalg.eigh(np.asarray(cov, np.float64))
    return (eigvecs * np.sqrt(np.clip(eigvals, 0, None))) @ eigvecs.T


def frechet_distance(mu1: np.ndarray,
                     cov1: np.ndarray,
                     mu2: np.ndarray,
                     cov2: np.ndarray,
                     cov2_sqrt: Optional[np.ndarray] = None) -> Tuple[float, float, float]:
    """Fréchet distance of N(mu1, cov1) and N(mu2, cov2).

    Args:
        mu1, cov1: mean [D] and covariance [D, D] of the first set (generated).
        mu2, cov2: mean [D] and covariance [D, D] of the second set (real).
        cov2_sqrt: ``psd_sqrt(cov2)`` if already known (saves one eigendecomposition).

    Returns:
        (distance, |μ_1 - μ_2|², trace part), as mmagic's ``FrechetInceptionDistance._calc_fid``.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != mu1.shape * 2:
        raise ValueError(f'mismatched statistics: means {mu1.shape} {mu2.shape}, covariances {cov1.shape} '
                         f'{cov2.shape}')
    root = psd_sqrt(cov2) if cov2_sqrt is None else cov2_sqrt
    middle = root @ cov1 @ root
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    mean_term = float(((mu1 - mu2)**2).sum())
    trace_term = float(np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt)
    return mean_term + trace_term, mean_term, trace_term
