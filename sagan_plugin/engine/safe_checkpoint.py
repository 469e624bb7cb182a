"""Lets ``torch.load(weights_only=True)`` — torch >= 2.6's default — read MMEngine runner checkpoints.

MMEngine 0.10.7 calls ``torch.load`` without ``weights_only``. A runner checkpoint holds, beside tensors, the
message hub's ``HistoryBuffer`` objects, which pickle their per-instance table of statistics methods through
``builtins.getattr`` — and allow-listing ``getattr`` would let a crafted file reach any attribute of an
allowed object (``__globals__`` and on to ``eval``). So we do not allow-list what the default pickling needs;
we give
``HistoryBuffer`` a reducer that pickles only its data (two numpy arrays and the max length) and allow-list
exactly ``HistoryBuffer`` and the numpy array types. Turning ``weights_only`` off is never needed, and any
other global in a checkpoint still fails loudly.

Checkpoints written by plain MMEngine (without this reducer) contain ``getattr`` and are refused with
torch's message naming it; only if you trust such a file, load it once with ``weights_only=False`` and re-save
it with this package imported.
"""
import copyreg

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from sagan_plugin.compat import NUMPY_ARRAY_PICKLE_GLOBALS


def _reduce_history_buffer(buffer: HistoryBuffer) -> tuple:
    """Pickle a HistoryBuffer as ``HistoryBuffer(log_history, count_history, max_length)``."""
    log_history, count_history = buffer.data
    return HistoryBuffer, (log_history, count_history, buffer.max_length)


def runner_checkpoint_types() -> list:
    """The non-tensor globals of a runner checkpoint saved with :func:`_reduce_history_buffer` in place (found
    with ``torch.serialization.get_unsafe_globals_in_checkpoint`` on this project's checkpoints)."""
    return [
        HistoryBuffer, *NUMPY_ARRAY_PICKLE_GLOBALS, np.ndarray, np.dtype,
        *{type(np.dtype(t))
          for t in (np.float64, np.float32, np.int64, np.int32)}
    ]


def allow_runner_checkpoint_types() -> None:
    """Register the reducer and add :func:`runner_checkpoint_types` to torch's allow-list (idempotent)."""
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    torch.serialization.add_safe_globals(runner_checkpoint_types())
