"""How sure a metric is: bootstrap intervals over the generated features, Welch's test over training seeds.

The bootstrap resamples the rows of the generated features [N, D] with replacement and recomputes the
statistic (FID, KID, any function of the features); it covers the sampling of the N generated images, for a
fixed generator and fixed real statistics, not the real set's sampling nor the training run
(docs/uncertainty.md).
A statistic with a ``prepare(fake)`` method (:class:`FrechetToReal`, :class:`KernelToReal`) is evaluated on
index arrays of one precomputed feature set, so a round costs an N x N eigendecomposition, not a D x D one.
"""
from typing import Callable, Optional

import numpy as np
from scipy.stats import ttest_ind

from .distances import KID_DEFAULTS, check_kid_subset_size, psd_sqrt

Statistic = Callable[[np.ndarray], float]


def _centred_gram(gram: np.ndarray) -> np.ndarray:
    """H G H for H = I - 11ᵀ/n: the Gram matrix [n, n] of the rows after subtracting their mean."""
    row = gram.mean(axis=0)
    return gram - row[None, :] - row[:, None] + row.mean()


class FrechetToReal:
    """FID of generated features against one fixed set of real statistics; fast when called many times.

    ``Tr((Σ_g Σ_r)^{1/2})`` is the sum of the roots of the eigenvalues of ``Σ_r^{1/2} Σ_g Σ_r^{1/2} =
    AᵀA / (N-1)`` with ``A = (fake - mean) Σ_r^{1/2}`` [N, D]; for N < D those are the eigenvalues of the
    N x N Gram matrix ``AAᵀ / (N-1)``. ``Σ_r^{1/2}`` is computed once per real statistics (or passed in).
    """

    def __init__(self,
                 real_mean: np.ndarray,
                 real_cov: np.ndarray,
                 real_cov_sqrt: Optional[np.ndarray] = None):
        self.real_mean = np.asarray(real_mean, np.float64)  # [D]
        self.real_cov = np.asarray(real_cov, np.float64)  # [D, D]
        if self.real_cov.shape != self.real_mean.shape * 2:
            raise ValueError(
                f'real statistics: mean {self.real_mean.shape}, covariance {self.real_cov.shape}')
        self.root = psd_sqrt(self.real_cov) if real_cov_sqrt is None else np.asarray(
            real_cov_sqrt, np.float64)
        self.real_trace = float(np.trace(self.real_cov))

    def __call__(self, fake: np.ndarray) -> float:
        return self.terms(fake)[0]

    def terms(self, fake: np.ndarray) -> tuple:
        """(fid, mean term, trace term) of ``fake`` [N, D], N >= 2."""
        return self.prepare(fake).terms(np.arange(len(fake)))

    def prepare(self, fake: np.ndarray) -> '_PreparedFrechet':
        """The FID of ``fake[idx]`` for index arrays ``idx``, with the products of ``fake`` computed once."""
        fake = np.asarray(fake, np.float64)
        if fake.ndim != 2 or fake.shape[1] != len(self.real_mean) or len(fake) < 2:
            raise ValueError(f'generated features must be [N >= 2, {len(self.real_mean)}], got {fake.shape}')
        return _PreparedFrechet(self, fake)


class _PreparedFrechet:
    """FID of rows of one feature set: N x N Gram matrices when N < D, else the D x D product."""

    def __init__(self, frechet: FrechetToReal, fake: np.ndarray):
        self.frechet = frechet
        shifted = fake - frechet.real_mean  # the mean term and Tr(Σ_g) are shift-invariant sums of these
        self.rooted = shifted @ frechet.root  # A before centring: centring commutes with the product
        self.shifted = shifted
        self.small = len(fake) < fake.shape[1]
        if self.small:  # the Gram matrices once; a subset is then an index into them
            self.gram_shift, self.gram_root = shifted @ shifted.T, self.rooted @ self.rooted.T

    def terms(self, idx: np.ndarray) -> tuple:
        n = len(idx)
        if self.small:
            pick = np.ix_(idx, idx)
            shift, root = self.gram_shift[pick], _centred_gram(self.gram_root[pick]) / (n - 1)
            mean_term = float(shift.mean())  # |mean of the shifted rows|² = 1ᵀG1 / n²
            fake_trace = float(np.trace(_centred_gram(shift))) / (n - 1)
        else:
            rows = self.shifted[idx]
            mean_term = float((rows.mean(0)**2).sum())
            fake_trace = float(((rows - rows.mean(0))**2).sum()) / (n - 1)
            rooted = self.rooted[idx] - self.rooted[idx].mean(0)
            root = rooted.T @ rooted / (n - 1)
        trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((root + root.T) / 2), 0, None)).sum()
        trace_term = fake_trace + self.frechet.real_trace - 2 * float(trace_sqrt)
        return mean_term + trace_term, mean_term, trace_term

    def __call__(self, idx: np.ndarray) -> float:
        return self.terms(idx)[0]


class KernelToReal:
    """torch-fidelity's KID (the mean over ``subsets`` random subsets of ``subset_size`` a side, polynomial
    kernel, same seed) of generated features against fixed real features [M, D]; ``prepare`` computes the
    kernel matrices once, so a bootstrap round only indexes them."""

    def __init__(self, real_feats: np.ndarray, max_elements: int = 50_000_000, **kid):
        unknown = set(kid) - set(KID_DEFAULTS)
        if unknown:
            raise ValueError(f'unknown kid option(s) {sorted(unknown)}; allowed: {sorted(KID_DEFAULTS)}')
        self.real = np.asarray(real_feats, np.float64)
        self.kid, self.max_elements = {**KID_DEFAULTS, **kid}, max_elements

    def kernel(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        gamma = self.kid['gamma'] or 1.0 / x.shape[1]
        return (x @ y.T * gamma + self.kid['coef0'])**self.kid['degree']

    def __call__(self, fake: np.ndarray) -> float:
        return self.prepare(fake)(np.arange(len(fake)))

    def prepare(self, fake: np.ndarray) -> Callable[[np.ndarray], float]:
        """KID of ``fake[idx]`` for index arrays ``idx`` of length N; the subsets are drawn as torch-fidelity
        draws them (one ``RandomState(seed)``, fake then real subset, each without replacement)."""
        fake, size = np.asarray(fake, np.float64), self.kid['subset_size']
        check_kid_subset_size(size, len(fake), len(self.real))
        rng = np.random.RandomState(self.kid['seed'])
        picks = [(rng.choice(len(fake), size, replace=False), rng.choice(len(self.real), size, replace=False))
                 for _ in range(self.kid['subsets'])]
        pairs = size * (size - 1)
        real_sums = []  # the real side's off-diagonal kernel sum of each subset: the same in every round
        for _, b in picks:
            k_rr = self.kernel(self.real[b], self.real[b])
            real_sums.append(k_rr.sum() - np.trace(k_rr))
        held = len(fake) * (len(fake) + len(self.real)) <= self.max_elements
        if held:  # else too large: each subset's kernels from the features (torch-fidelity's cost)
            k_ff, k_fr = self.kernel(fake, fake), self.kernel(fake, self.real)

        def blocks(rows: np.ndarray, b: np.ndarray) -> tuple:
            if held:
                return k_ff[np.ix_(rows, rows)], k_fr[np.ix_(rows, b)]
            return self.kernel(fake[rows], fake[rows]), self.kernel(fake[rows], self.real[b])

        def kid(idx: np.ndarray) -> float:
            values = []
            for (a, b), real_sum in zip(picks, real_sums):
                k_xx, k_xy = blocks(idx[a], b)
                values.append((k_xx.sum() - np.trace(k_xx) + real_sum) / pairs - 2 * k_xy.sum() / size**2)
            return float(np.mean(values))

        return kid


def check_bootstrap(rounds: int, level: float, seed: int) -> None:
    """Raise a ValueError naming a bad ``rounds`` (int >= 2), ``level`` (in (0, 1)) or ``seed`` (int >= 0)."""
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 2:
        raise ValueError(f'bootstrap rounds must be an integer >= 2, got {rounds!r}')
    if not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f'bootstrap level must be in (0, 1), e.g. 0.95, got {level!r}')
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f'bootstrap seed must be an integer >= 0, got {seed!r}')


def on_indices(fake: np.ndarray, statistic: Statistic) -> Callable[[np.ndarray], float]:
    """``statistic`` as a function of row indices of ``fake`` (prepared once when the statistic can)."""
    if hasattr(statistic, 'prepare'):
        return statistic.prepare(fake)
    return lambda idx: float(statistic(fake[idx]))


def _interval(estimate: float, values: np.ndarray, level: float) -> dict:
    """The percentile interval of the replicates, moved by the bootstrap's bias estimate (their mean minus
    the estimate) so that it is centred on the estimate; see docs/uncertainty.md for why."""
    bias = float(values.mean() - estimate)
    low, high = np.quantile(values - bias, [(1 - level) / 2, (1 + level) / 2])
    return dict(low=float(low), high=float(high), std=float(values.std(ddof=1)), bias=bias)


def bootstrap(fake: np.ndarray,
              statistic: Statistic,
              rounds: int = 100,
              seed: int = 0,
              level: float = 0.95) -> dict:
    """Interval of ``statistic(fake)`` over ``rounds`` resamplings of the rows of ``fake`` [N, D] with
    replacement: {'estimate', 'low', 'high', 'std' (of the replicates), 'bias' (their mean - estimate)}."""
    check_bootstrap(rounds, level, seed)
    resampled, rng, n = on_indices(fake, statistic), np.random.default_rng(seed), len(fake)
    estimate = resampled(np.arange(n))
    values = np.array([resampled(rng.integers(0, n, n)) for _ in range(rounds)])
    return dict(estimate=estimate, **_interval(estimate, values, level))


def bootstrap_difference(fake_a: np.ndarray,
                         fake_b: np.ndarray,
                         statistic: Statistic,
                         rounds: int = 100,
                         seed: int = 0,
                         level: float = 0.95,
                         paired: bool = False) -> dict:
    """Interval of ``statistic(fake_a) - statistic(fake_b)``: {'difference', 'low', 'high', 'std', 'bias'}.

    ``paired``: row i of a and b come from the same latent (two checkpoints on the same seeded z and y), so
    both take the same resampled indices and what the latents share cancels; otherwise each set is resampled
    on its own.
    """
    check_bootstrap(rounds, level, seed)
    if paired and len(fake_a) != len(fake_b):
        raise ValueError(
            f'a paired bootstrap needs as many rows in a as in b, got {len(fake_a)} and {len(fake_b)}')
    on_a, on_b, rng = on_indices(fake_a, statistic), on_indices(fake_b,
                                                                statistic), np.random.default_rng(seed)
    difference = on_a(np.arange(len(fake_a))) - on_b(np.arange(len(fake_b)))
    values = []
    for _ in range(rounds):
        idx_a = rng.integers(0, len(fake_a), len(fake_a))
        idx_b = idx_a if paired else rng.integers(0, len(fake_b), len(fake_b))
        values.append(on_a(idx_a) - on_b(idx_b))
    return dict(difference=difference, **_interval(difference, np.array(values), level))


def welch(x, y) -> dict:
    """Welch's t-test (unequal variances) of two samples, e.g. one figure per training seed of two arms:
    {'difference' (mean x - mean y), 't', 'p'}."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if min(len(x), len(y)) < 2:
        raise ValueError(f"Welch's test needs two values a side, got {len(x)} and {len(y)}")
    result = ttest_ind(x, y, equal_var=False)
    return dict(difference=float(x.mean() - y.mean()), t=float(result.statistic), p=float(result.pvalue))
