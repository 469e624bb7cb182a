"""Stops training at the first non-finite loss or weight, before anything from that state is saved."""
import math
from numbers import Number
from typing import Optional, Tuple

import torch
from mmengine.hooks import Hook

from sagan_plugin.registry import HOOKS
from .checkpoint_files import float_tensors, read_last_checkpoint


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Raises ``FloatingPointError`` on a NaN/Inf loss term or weight, naming the iteration and the term.

    A GAN that diverges to NaN keeps running with ``loss: nan`` and saves NaN checkpoints that rotation then
    keeps instead of the good ones. This hook checks every logged loss term after each iteration, and the
    whole checkpoint (weights, EMA, optimizer state) before it is written — so NaN weights are caught even
    while the loss is still finite (e.g. in the EMA generator, which no loss sees). The raise ends the run
    with a non-zero exit before the checkpoint hook saves; the last good checkpoint and ``last_checkpoint``
    stay as they were. Loading a checkpoint with non-finite values (resume, load_from, tools/test.py) is
    refused the same way. MMEngine's ``CheckInvalidLossHook`` checks only ``loss``, which a GAN's log lacks.

    Args:
        interval: check the loss terms every ``interval`` iterations (the check reads the values: a sync).
    """
    priority = 'NORMAL'  # after the model's step, before LoggerHook (BELOW_NORMAL) and CheckpointHook

    def __init__(self, interval: int = 1) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'NonFiniteGuardHook: interval must be a positive integer, got {interval!r}')
        self.interval = interval

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not self.every_n_train_iters(runner, self.interval) or not outputs:
            return
        for term, value in outputs.items():
            number = _to_float(value)
            if number is not None and not math.isfinite(number):
                raise FloatingPointError(
                    f'iteration {runner.iter + 1}: loss term {term} = {number}; training '
                    f'stopped before saving this state. {_resume_hint(runner)}')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = _first_non_finite(checkpoint)
        if bad is not None:
            raise FloatingPointError(
                f'iteration {runner.iter + 1}: {bad[0]} holds {bad[1]} non-finite values; '
                f'the checkpoint was not written. {_resume_hint(runner)}')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        bad = _first_non_finite(checkpoint if 'state_dict' in checkpoint else dict(state_dict=checkpoint))
        if bad is not None:
            raise FloatingPointError(
                f'the checkpoint being loaded has {bad[1]} non-finite values in {bad[0]}; '
                'it cannot be trained or evaluated: use an earlier checkpoint')


def _to_float(value) -> Optional[float]:
    """A loss term as a float (tensors with one element, numbers); None for anything else."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach())
    return float(value) if isinstance(value, Number) else None


def _first_non_finite(checkpoint: dict) -> Optional[Tuple[str, int]]:
    """(name, count) of the first tensor of the state_dict / optimizer state with NaN or Inf values."""
    parts = {key: checkpoint[key] for key in ('state_dict', 'optimizer') if key in checkpoint}
    for name, tensor in float_tensors(parts):
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            return name, int(finite.numel() - finite.sum())
    return None


def _resume_hint(runner) -> str:
    """Where to go from here, from the checkpoint on disk that ``--resume`` would load."""
    last = read_last_checkpoint(runner.work_dir)
    if last is None:
        return 'No checkpoint was saved before it: lower the learning rates and start again.'
    return (
        f'The last good checkpoint is {last}. --resume repeats the same steps exactly (data, random '
        'numbers and optimizer state come back), so it only helps after a transient fault; to change course, '
        f'start a new run from its weights: tools/train.py CONFIG --work-dir NEW_DIR --cfg-options '
        f'load_from={last} with lower optim_wrapper.generator_lr / discriminator_lr.')
