"""Which BatchNorm statistics a generator samples with: the three modes GAN codebases offer.

- ``'running'``: the running statistics as trained (BatchNorm in eval mode). mmagic's evaluation and
  BigGAN-PyTorch's ``--G_eval_mode`` sample this way.
- ``'batch'``: every BatchNorm normalises with the statistics of the batch being generated, as in training
  (BigGAN-PyTorch without ``--G_eval_mode``, StudioGAN's ``-batch_stat``). The images then depend on which
  other images share their batch: on the batch size and the batch's classes.
- ``'standing'``: BigGAN's standing statistics, the running statistics re-estimated as the plain average over
  many forward passes of the sampling distribution at the truncation in use
  (:func:`.standing_stats.accumulate_standing_stats`; BigGAN-PyTorch's ``--accumulate_stats``,
  StudioGAN's ``-std_stat``).

:func:`sampling_bn` switches a generator into one of them and back: on exit every BatchNorm buffer, momentum,
``track_running_stats`` and every module's train flag are as before, bit for bit, so a validation during
training may use it without changing the model.
"""
import contextlib
from typing import Iterator, List, Optional

from torch import nn

from .standing_stats import BATCH_NORMS, accumulate_standing_stats

BN_MODES = ('running', 'batch', 'standing')


def check_bn_mode(mode: str, what: str = 'bn_mode') -> str:
    """``mode`` if it is one of :data:`BN_MODES`, else a ValueError naming ``what`` and the allowed ones."""
    if mode not in BN_MODES:
        raise ValueError(f'{what} must be one of {BN_MODES}, got {mode!r}')
    return mode


def batch_norms(module: nn.Module) -> List[nn.Module]:
    """The BatchNorm layers of ``module`` that keep running statistics, in ``modules()`` order."""
    return [m for m in module.modules() if isinstance(m, BATCH_NORMS) and m.track_running_stats]


def _snapshot(module: nn.Module, norms: List[nn.Module]) -> tuple:
    """Every module's train flag, and each BatchNorm's momentum, switch and buffers (cloned)."""
    flags = [(m, m.training) for m in module.modules()]
    states = [(m, m.momentum, m.track_running_stats, {
        k: b.clone()
        for k, b in m.named_buffers(recurse=False)
    }) for m in norms]
    return flags, states


def _restore(snapshot: tuple) -> None:
    """Put back what :func:`_snapshot` saved; buffers in place, so references to them (the EMA's, a
    state dict's) stay valid."""
    flags, states = snapshot
    for m, momentum, track, buffers in states:
        m.momentum, m.track_running_stats = momentum, track
        for name, saved in buffers.items():
            getattr(m, name).copy_(saved)
    for m, training in flags:
        m.training = training


@contextlib.contextmanager
def sampling_bn(generator: nn.Module,
                mode: str = 'running',
                truncation: Optional[float] = None,
                num_batches: int = 100,
                batch_size: int = 50,
                seed: int = 0) -> Iterator[nn.Module]:
    """Inside the block, ``generator``'s BatchNorm layers normalise as ``mode`` says (module docstring);
    yields the generator. Only the BatchNorm layers change; other modules keep their train flags.

    Args:
        generator: a generator with ``noise_size`` and ``num_classes`` (``SAGANGenerator``); ``'batch'`` and
            ``'standing'`` need BatchNorm layers in it (a ValueError otherwise: there is nothing to switch,
            and a silent no-op would report running-statistics numbers under another name).
        mode: one of :data:`BN_MODES`.
        truncation: T > 0 or None: the truncation of the z the block samples; ``'standing'`` estimates the
            statistics at it (BigGAN: per truncation value).
        num_batches, batch_size, seed: the passes of ``'standing'`` (ignored otherwise).
    """
    check_bn_mode(mode)
    if truncation is not None and not truncation > 0:
        raise ValueError(f'truncation must be None or > 0, got {truncation}')
    norms = batch_norms(generator)
    if mode != 'running' and not norms:
        raise ValueError(f"bn_mode={mode!r} needs BatchNorm layers with running statistics, and "
                         f"{type(generator).__name__} has none; use bn_mode='running'")
    snapshot = _snapshot(generator, norms)
    try:
        if mode == 'standing':
            accumulate_standing_stats(
                generator, num_batches=num_batches, batch_size=batch_size, seed=seed, truncation=truncation)
        for m in norms:
            # batch: train mode without tracking, so the batch's statistics normalise and no buffer moves
            m.train(mode == 'batch')
            m.track_running_stats = mode != 'batch'
        yield generator
    finally:
        _restore(snapshot)
