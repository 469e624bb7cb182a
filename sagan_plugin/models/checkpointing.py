"""Activation checkpointing (``with_cp``) that is safe for SAGAN's stateful layers.

A checkpointed block keeps only its inputs in the forward pass and runs its forward again during backward.
Two of SAGAN's layers change state in every training forward, so a plain re-run would corrupt training:
the spectral-norm power iteration updates u and v in place (a second update per step, and a recomputed
W/σ that differs from the one the forward used), and BatchNorm updates its running statistics (twice per
step). Inside :func:`recomputing` both skip their update; the recomputed forward then equals the original
one exactly (``tests/models/test_checkpointing.py``).

The same checkpoint around ``BN → ReLU → conv`` (G's ``recompute_activations``) keeps only the BN input:
torch's re-run stops as soon as every tensor backward needs is back (``early_stop``), which is when the conv
has saved its input and before it computes, so only the cheap BN and ReLU run twice.

MMEngine's generic ``activation_checkpointing`` config key wraps modules with torch's reentrant checkpoint,
which re-runs those updates and, for a block whose input needs no gradient (D's first block on real images),
drops the block's parameter gradients; the setup check rejects it for our networks and points here.
"""
import threading
from contextlib import contextmanager, nullcontext
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint as torch_checkpoint

_state = threading.local()  # CUDA backward runs on autograd's device thread: the flag is that thread's


def is_recomputing() -> bool:
    """Whether the current thread is re-running a checkpointed forward (inside the backward pass)."""
    return getattr(_state, 'recomputing', False)


@contextmanager
def recomputing() -> Iterator[None]:
    """Mark a re-run forward: SN keeps u and v, BatchNorm keeps its running statistics."""
    previous, _state.recomputing = is_recomputing(), True
    try:
        yield
    finally:
        _state.recomputing = previous


def checkpoint(function: Callable[..., Tensor], *args) -> Tensor:
    """``function(*args)``, keeping only ``args`` for backward when gradients are being recorded.

    Non-reentrant (torch's recommended form): parameter gradients flow even when no input requires grad,
    and autocast is replayed as in the forward. The re-run stops once backward has what it needs
    (``early_stop``, torch's default, set here because ``recompute_activations`` relies on it).
    """
    if not torch.is_grad_enabled():
        return function(*args)
    return torch_checkpoint(
        function,
        *args,
        use_reentrant=False,
        early_stop=True,
        context_fn=lambda: (nullcontext(), recomputing()))


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` (same parameters, buffers and state-dict keys) whose running statistics stay put
    while a checkpointed forward is re-run; it normalises with the batch's statistics as the forward did."""

    def forward(self, x: Tensor) -> Tensor:
        if self.training and is_recomputing():
            # momentum 0: the statistics are rewritten with their own values (the forward's call, same saves)
            return F.batch_norm(
                x,
                self.running_mean,
                self.running_var,
                self.weight,
                self.bias,
                training=True,
                momentum=0.0,
                eps=self.eps)
        return super().forward(x)
