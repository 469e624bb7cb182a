"""Lets ``torch.load(weights_only=True)`` — torch >= 2.6's default — read MMEngine runner checkpoints.

MMEngine 0.10.7 calls ``torch.load`` without ``weights_only``; a runner checkpoint holds, beside tensors, the
message hub's ``HistoryBuffer`` objects and the numpy arrays and scalars inside them, which the safe
unpickler refuses (``UnpicklingError``). Turning ``weights_only`` off would execute arbitrary pickles from any
checkpoint file; instead we allow-list exactly these types. Any other global still fails loudly.
"""
import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def runner_checkpoint_types() -> list:
    """The non-tensor globals an MMEngine runner checkpoint holds (found with
    ``torch.serialization.get_unsafe_globals_in_checkpoint`` on a real checkpoint of this project)."""
    # numpy < 2 pickles arrays through numpy.core.multiarray; the dtype classes live in numpy.dtypes.
    multiarray = np.core.multiarray
    return [
        HistoryBuffer,
        multiarray._reconstruct,
        multiarray.scalar,
        np.ndarray,
        np.dtype,
        type(np.dtype(np.float64)),
        type(np.dtype(np.float32)),
        type(np.dtype(np.int64)),
    ]


def allow_runner_checkpoint_types() -> None:
    """Add :func:`runner_checkpoint_types` to torch's process-wide allow-list (idempotent)."""
    torch.serialization.add_safe_globals(runner_checkpoint_types())
