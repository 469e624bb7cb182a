"""Peak live memory on a CPU, as ``torch.cuda.max_memory_allocated`` counts it on a GPU (glibc only).

The peak resident set also holds what malloc keeps after a free and what fragmentation wastes, so it moves by
±10% between fresh processes and can hide a real change. This counts the bytes malloc has handed out and not
got back (glibc's ``mallinfo2``: ``uordblks + hblkhd``), sampled after every aten op while
:class:`PeakInUse` is on; it repeats to within a few MB. Used by bench_live_memory.py and bench_attention.py.
"""
import ctypes

from torch.utils._python_dispatch import TorchDispatchMode


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t)
                for name in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks', 'fsmblks',
                             'uordblks', 'fordblks', 'keepcost')]


_LIBC = ctypes.CDLL('libc.so.6')  # mallinfo2: glibc >= 2.33 (mallinfo's int fields overflow at 2 GB)
_LIBC.mallinfo2.restype = _MallInfo2


def bytes_in_use() -> int:
    """Bytes malloc has handed out: from its heaps (uordblks) and as separate mmaps (hblkhd)."""
    info = _LIBC.mallinfo2()
    return info.uordblks + info.hblkhd


class PeakInUse(TorchDispatchMode):
    """The highest ``bytes_in_use()`` after any aten op run while the mode is on (autograd's too)."""

    def __init__(self) -> None:
        super().__init__()
        self.peak = bytes_in_use()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.peak = max(self.peak, bytes_in_use())
        return out
