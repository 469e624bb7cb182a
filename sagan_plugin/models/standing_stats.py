"""BigGAN's standing statistics: a generator's BatchNorm statistics re-estimated from its own samples.

The running statistics a generator carries were accumulated on the raw generator's activations during
training (momentum 0.1: about its last ten batches). An averaged (EMA) generator has other weights, so those
statistics do not describe its activations; BigGAN (Brock et al. 2019, its ``--use_standing_stats``)
re-estimates them over many forward passes of the sampling distribution instead.
"""
from typing import Optional

import torch
from torch import nn

from .sampling import truncated_noise

BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


@torch.no_grad()
def accumulate_standing_stats(generator: nn.Module,
                              num_batches: int = 100,
                              batch_size: int = 50,
                              seed: int = 0,
                              truncation: Optional[float] = None) -> int:
    """Reset every BatchNorm's running mean/var in ``generator`` and re-estimate them, in place, as the
    equal-weight average (``momentum=None``) over ``num_batches`` forward passes of ``batch_size`` samples:
    z ~ N(0, I), with ``truncation`` T every |z_j| > T redrawn as the samples' are
    (:func:`.sampling.truncated_noise`, not clipped: a clipped z puts mass at ±T that no sample has), classes
    drawn uniformly.

    Only the BatchNorm layers run in training mode; everything else (spectral norm's vectors included) is
    left as it was, so the generator's function changes only through its BN statistics. The z and y come
    from a private generator seeded with ``seed``: the global RNG state is untouched. Returns the number of
    BatchNorm layers re-estimated; the generator is left in eval mode.

    Args:
        generator: a generator with ``noise_size`` and ``num_classes`` (0: unconditional), e.g.
            ``SAGANGenerator``.
        num_batches, batch_size: the passes; BigGAN-PyTorch uses 16 x its batch size.
        seed: seed of the z and y drawn.
        truncation: None for z ~ N(0, I); BigGAN re-estimates per truncation value.
    """
    if num_batches < 1 or batch_size < 2:
        raise ValueError(f'standing statistics need num_batches >= 1 and batch_size >= 2, got {num_batches} '
                         f'and {batch_size}')
    if truncation is not None and truncation <= 0:
        raise ValueError(f'truncation must be > 0, got {truncation}')
    norms = [m for m in generator.modules() if isinstance(m, BATCH_NORMS)]
    saved = [(m, m.momentum) for m in norms]
    generator.eval()
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    try:
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative moving average: every batch weighs the same
            m.train()
        for _ in range(num_batches):
            z = truncated_noise(batch_size, generator.noise_size, truncation, rng)
            y = torch.randint(0, generator.num_classes, (batch_size, ), generator=rng) \
                if generator.num_classes else None
            generator(z.to(device), label=None if y is None else y.to(device))
    finally:
        for m, momentum in saved:
            m.momentum = momentum
            m.eval()
    return len(norms)
