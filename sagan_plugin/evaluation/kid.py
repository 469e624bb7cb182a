"""Kernel Inception Distance exactly as torch-fidelity 0.4 defines it (Bińkowski et al. 2018).

For feature sets X (generated) and Y (real), ``subsets`` times draw ``m = subset_size`` rows of each without
replacement (one ``numpy.random.RandomState(seed)``; X's draw, then Y's, per subset) and compute the
unbiased MMD² with the cubic polynomial kernel ``k(x, y) = (γ x·y + c)^d`` (defaults γ = 1/D, c = 1, d = 3)::

    MMD² = Σ_{i≠j} k(x_i, x_j) / (m(m-1)) + Σ_{i≠j} k(y_i, y_j) / (m(m-1)) - 2 Σ_{i,j} k(x_i, y_j) / m²

KID is the mean of the ``subsets`` values, ``kid_std`` their (population) standard deviation. Same RNG calls
and the same order as torch-fidelity, so the two agree to float rounding (checked in
tests/evaluation/test_fid_kid.py). KID slightly below 0 is valid (unbiased estimator) and means the two sets
are very close.
"""
from typing import Dict, Optional

import numpy as np

# torch-fidelity's defaults (torch_fidelity/defaults.py: kid_subsets, kid_subset_size, ..., rng_seed).
KID_DEFAULTS = dict(subsets=100, subset_size=1000, degree=3, gamma=None, coef0=1.0, seed=2020)


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int, gamma: Optional[float],
                      coef0: float) -> np.ndarray:
    """``(γ X Yᵀ + c)^d`` for X [m, D], Y [n, D] -> [m, n]; γ defaults to 1/D."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (x @ y.T * gamma + coef0)**degree


def unbiased_mmd2(k_xx: np.ndarray, k_xy: np.ndarray, k_yy: np.ndarray) -> float:
    """Unbiased MMD² from the three [m, m] kernel matrices (diagonals of K_XX and K_YY excluded)."""
    m = k_xx.shape[0]
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2 * k_xy.sum() / (m * m))


def kid_from_features(fake: np.ndarray,
                      real: np.ndarray,
                      subsets: int = 100,
                      subset_size: int = 1000,
                      degree: int = 3,
                      gamma: Optional[float] = None,
                      coef0: float = 1.0,
                      seed: int = 2020) -> Dict[str, float]:
    """KID between generated features ``fake`` [N1, D] and real features ``real`` [N2, D].

    Returns:
        ``{'kid': mean over subsets, 'kid_std': std over subsets}``.
    """
    if fake.ndim != 2 or real.ndim != 2 or fake.shape[1] != real.shape[1]:
        raise ValueError(
            f'KID needs two [N, D] feature sets of the same D, got {fake.shape} and {real.shape}')
    if subset_size > min(len(fake), len(real)):
        raise ValueError(
            f'KID subset_size {subset_size} is larger than the number of samples (generated '
            f'{len(fake)}, real {len(real)}); lower kid=dict(subset_size=...) or use more samples')
    # float64 throughout: the kernel sums run over m² ~ 1e6 terms of size ~1.
    fake, real = np.asarray(fake, np.float64), np.asarray(real, np.float64)
    rng = np.random.RandomState(seed)
    mmds = np.zeros(subsets)
    for i in range(subsets):
        x = fake[rng.choice(len(fake), subset_size, replace=False)]
        y = real[rng.choice(len(real), subset_size, replace=False)]
        k = [polynomial_kernel(a, b, degree, gamma, coef0) for a, b in ((x, x), (x, y), (y, y))]
        mmds[i] = unbiased_mmd2(*k)
    return dict(kid=float(np.mean(mmds)), kid_std=float(np.std(mmds)))
