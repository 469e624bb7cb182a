"""FID∞ (Chong & Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to find them").

FID at N samples is biased upwards, about linearly in 1/N; FID∞ is the intercept of the straight line
``FID_N = slope / N + FID∞`` fitted by least squares to FID at several N, the value at infinitely many
samples. Their ``calculate_FID_infinity`` (github.com/mchong6/FID_IS_infinity, score_infinity.py) generates
50,000 images, then for 15 linearly spaced N from 5,000 to 50,000 shuffles the features and takes the first
N, and fits the line with scikit-learn's ``LinearRegression``. Here the same, with two differences:

* one generated set of N features is subsampled (without replacement, a fresh permutation per size, as their
  shuffle does), instead of drawing the images with a scrambled Sobol sequence: the seeded latents of the
  metric are used as they are;
* the smallest size is ``min_fraction`` of N (their 5,000 of 50,000 is 0.1), and the line is fitted by
  ``numpy.polyfit`` (the same least squares).

Only the generated side's bias is removed: the real statistics are taken as exact (as in their code).
"""
from typing import Callable

import numpy as np

from .uncertainty import on_indices


def fid_infinity(fake: np.ndarray,
                 statistic: Callable[[np.ndarray], float],
                 num_points: int = 15,
                 seed: int = 0,
                 min_fraction: float = 0.1) -> dict:
    """FID∞ of generated features ``fake`` [N, D] under ``statistic`` (e.g. a :class:`FrechetToReal`).

    Returns:
        {'fid_inf': the fitted value at 1/N = 0, 'slope': the fitted slope in 1/N, 'sizes': the N used,
        'values': the statistic at each size}.
    """
    if not isinstance(num_points, int) or isinstance(num_points, bool) or num_points < 2:
        raise ValueError(f'fid_infinity num_points must be an integer >= 2, got {num_points!r}')
    if not isinstance(min_fraction, (int, float)) or not 0 < min_fraction < 1:
        raise ValueError(f'fid_infinity min_fraction must be in (0, 1), got {min_fraction!r}')
    n = len(fake)
    sizes = np.linspace(max(2, int(min_fraction * n)), n, num_points).astype(int)
    if len(set(sizes.tolist())) < 2:
        raise ValueError(f'fid_infinity needs at least two distinct sample sizes; {n} generated images give '
                         f'{sorted(set(sizes.tolist()))}')
    resampled, rng = on_indices(fake, statistic), np.random.default_rng(seed)
    values = np.array([resampled(rng.permutation(n)[:size]) for size in sizes])
    slope, intercept = np.polyfit(1.0 / sizes, values, deg=1)
    return dict(fid_inf=float(intercept), slope=float(slope), sizes=sizes.tolist(), values=values.tolist())
