"""The z and y that evaluation generates from: a fixed list, the same for any number of processes.

Sample ``i`` of the list is drawn from its own generator, seeded from ``seed`` and ``i``, so it does not
depend on the global RNG (which a checkpoint restores), on the batch size, or on which process draws it.
mmagic's metrics gather the ranks' results in rank order and keep the first ``fake_nums``, so rank ``r`` draws
samples ``r * n .. (r + 1) * n - 1`` with ``n = ceil(fake_nums / world_size)``: 1 or 8 processes evaluate
the same samples.
"""
import math
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from sagan_plugin.models.sampling import redraw_beyond

GOLDEN = 0x9E3779B1  # odd, so seed -> seed * GOLDEN (mod 2**32) spreads the lists of nearby seeds apart


def sample_latent(seed: int,
                  index: int,
                  noise_size: int,
                  num_classes: int,
                  truncation: Optional[float] = None,
                  balanced: bool = False) -> Tuple[Tensor, Optional[int]]:
    """z [noise_size] and a class id (None for an unconditional model) of sample ``index``.

    torch's CPU generator keeps only 32 bits of a seed, so sample ``i`` of list ``seed`` gets
    ``seed * GOLDEN + i (mod 2**32)``: distinct generators for the ``2**32`` indices of one list.
    z is drawn first, then the class; ``truncation`` T redraws every |z_j| > T afterwards from the same
    generator (BigGAN's trick), so across T a sample keeps its class and every entry already inside.
    ``balanced``: class ``index % num_classes`` instead of a uniform draw (equal counts per class, as
    per-class metrics need); z is the same either way.
    """
    generator = torch.Generator().manual_seed((seed * GOLDEN + index) % 2**32)
    z = torch.randn(noise_size, generator=generator)
    label = int(torch.randint(num_classes, (), generator=generator)) if num_classes else None
    if balanced and num_classes:
        label = index % num_classes
    return redraw_beyond(z, truncation, generator), label


def sample_labels(seed: int,
                  count: int,
                  noise_size: int,
                  num_classes: int,
                  balanced: bool = False) -> np.ndarray:
    """The class ids int64 [count] of samples ``0 .. count - 1`` of list ``seed`` (what the metrics
    scored, in order); truncation does not change them."""
    if not num_classes:
        raise ValueError('an unconditional model has no class ids')
    if balanced:
        return np.arange(count, dtype=np.int64) % num_classes
    return np.array([sample_latent(seed, i, noise_size, num_classes)[1] for i in range(count)], np.int64)


def rank_indices(rank: int, per_rank_counts: Sequence[int]) -> List[int]:
    """The sample indices ``rank`` draws when metrics need ``per_rank_counts`` samples per rank each
    (metric m takes its own ``rank * n_m .. (rank + 1) * n_m - 1``), in order."""
    return sorted(set().union(*(range(rank * n, (rank + 1) * n) for n in per_rank_counts)))


class SeededSampler:
    """What mmagic's evaluation loops iterate for generative metrics: batches of model inputs with explicit
    z (``noise``) and class ids (``sample_kwargs['label']``, read by :class:`SAGAN`), plus the batch's
    sample indices (``sample_index``, ignored by the model, read by the metrics).

    Args:
        indices: the sample indices this rank draws, in order.
        batch_size: samples per generator call.
        seed: the seed of the list.
        noise_size: length of z.
        num_classes: class ids are drawn uniformly from ``0 .. num_classes - 1``; 0: unconditional.
        sample_model: 'orig', 'ema' or 'ema/orig', as mmagic's metrics.
        sample_kwargs: passed on to the model.
        truncation, balanced: see :func:`sample_latent`.
    """

    def __init__(self,
                 indices: List[int],
                 batch_size: int,
                 seed: int,
                 noise_size: int,
                 num_classes: int,
                 sample_model: str,
                 sample_kwargs: Optional[dict] = None,
                 truncation: Optional[float] = None,
                 balanced: bool = False):
        self.indices, self.batch_size, self.seed = indices, batch_size, seed
        self.truncation, self.balanced = truncation, balanced
        self.noise_size, self.num_classes = noise_size, num_classes
        self.sample_model, self.sample_kwargs = sample_model, dict(sample_kwargs or {})

    def __len__(self) -> int:
        return math.ceil(len(self.indices) / self.batch_size)

    def __iter__(self) -> Iterator[dict]:
        for start in range(0, len(self.indices), self.batch_size):
            batch = self.indices[start:start + self.batch_size]
            drawn = [
                sample_latent(self.seed, i, self.noise_size, self.num_classes, self.truncation, self.balanced)
                for i in batch
            ]
            kwargs = dict(self.sample_kwargs)
            if self.num_classes:
                kwargs['label'] = torch.tensor([label for _, label in drawn])
            # a tuple: mmagic's DataPreprocessor would take a tensor for an image and refuse a list of ints
            yield dict(
                inputs=dict(
                    noise=torch.stack([z for z, _ in drawn]),
                    num_batches=len(batch),
                    sample_model=self.sample_model,
                    sample_kwargs=kwargs,
                    sample_index=tuple(batch)))
