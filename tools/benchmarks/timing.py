"""The benchmarks' one timing helper: wall-clock and process CPU seconds of a call, device work included.

The scripts in this folder import it as a sibling module (``python tools/benchmarks/<script>.py`` puts the
folder on ``sys.path``; ``sagan_plugin`` itself comes from the installed package).
"""
import time
from typing import Any, Callable, List, NamedTuple, Optional, Tuple

import torch


class Timing(NamedTuple):
    """Seconds of one call: ``wall`` (clock) and ``cpu`` (this process's CPU time, all threads)."""
    wall: float
    cpu: float


def synchronize(device: Optional[str]) -> None:
    """Wait for the device's queued work (a no-op on the CPU and for None)."""
    if device is not None and str(device).startswith('cuda'):
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], device: Optional[str] = None) -> Tuple[Any, Timing]:
    """``fn()``'s result and its :class:`Timing`; on CUDA the queued work before and after is waited for, so
    the time is the call's own."""
    synchronize(device)
    start, start_cpu = time.perf_counter(), time.process_time()
    result = fn()
    synchronize(device)
    return result, Timing(time.perf_counter() - start, time.process_time() - start_cpu)


def repeat(fn: Callable[[], Any],
           repeats: int,
           warmup: int = 1,
           device: Optional[str] = None) -> List[Timing]:
    """The :class:`Timing` of ``repeats`` calls of ``fn`` after ``warmup`` untimed ones. Report the best
    (other jobs on a shared machine only ever add time) or the median, as the script says."""
    for _ in range(warmup):
        fn()
    return [timed(fn, device)[1] for _ in range(repeats)]
