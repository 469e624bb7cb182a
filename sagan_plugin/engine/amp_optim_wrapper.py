"""MMEngine's ``AmpOptimWrapper``, also on CPU (bfloat16 autocast).

MMEngine 0.10.7's wrapper asserts a GPU-like device in its constructor, although its
``optim_context`` enters ``mmengine.runner.amp.autocast``, which supports ``device_type='cpu'``
with bfloat16. Registered under the same name in our scope, so
``optim_wrapper.type='AmpOptimWrapper'`` (and ``tools/train.py --amp``) means mixed precision on
whatever device the run has; mmengine's class stays reachable as ``mmengine.AmpOptimWrapper``.
"""
import logging
from typing import Union

import torch
from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper as MMEngineAmpOptimWrapper

from sagan_plugin.compat import init_amp_wrapper_on_cpu
from sagan_plugin.registry import OPTIM_WRAPPERS

# CPU flags of a native bf16 dot product, which oneDNN's fast bf16 kernels use: AMX (bf16 matrix products
# measured at 6x fp32's rate) and AVX-512 BF16 (2x, AMD Zen 4). With neither, bf16 ran at 0.5x fp32's rate.
FAST_BF16_CPU_FLAGS = ('amx_bf16', 'avx512_bf16')


def cpu_has_fast_bf16(cpuinfo: str = '/proc/cpuinfo') -> bool:
    """Whether the CPU has a flag of ``FAST_BF16_CPU_FLAGS``. Linux only: elsewhere True (nothing claimed)."""
    try:
        with open(cpuinfo) as f:
            flags = next((line.split() for line in f if line.startswith('flags')), [])
    except OSError:
        return True
    return any(flag in flags for flag in FAST_BF16_CPU_FLAGS)


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(MMEngineAmpOptimWrapper):
    """Mixed precision: on CUDA/NPU/MLU/MUSA exactly MMEngine's; on CPU bfloat16 autocast, no loss scale.

    bfloat16 keeps float32's exponent range, so gradients do not underflow and need no loss scale; a disabled
    ``GradScaler`` keeps the parent's ``backward``/``step``/``state_dict`` working unchanged.

    Args:
        loss_scale: MMEngine's (GPU only; on CPU there is nothing to scale).
        dtype: autocast dtype; on CPU only ``'bfloat16'`` (or None, meaning it) exists.
        use_fsdp: MMEngine's (GPU only).
        **kwargs: :class:`mmengine.optim.OptimWrapper` arguments (``optimizer``, ``accumulative_counts``).
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype, None] = None,
                 use_fsdp: bool = False,
                 **kwargs) -> None:
        if get_device() != 'cpu':
            super().__init__(loss_scale=loss_scale, dtype=dtype, use_fsdp=use_fsdp, **kwargs)
            return
        if dtype not in (None, 'bfloat16', torch.bfloat16):
            raise ValueError(f'AmpOptimWrapper on CPU: only bfloat16 autocast exists, got dtype={dtype!r}')
        if not cpu_has_fast_bf16():
            print_log(
                'AmpOptimWrapper: this CPU has no native bf16 arithmetic (neither amx_bf16 nor '
                'avx512_bf16 in /proc/cpuinfo), so bf16 matrix products run slower than fp32 ones here: '
                'expect less memory but no speed-up (docs/performance.md)', 'current', logging.WARNING)
        # MMEngine's constructor, whose only CPU-specific step is the GPU assertion, is skipped (compat).
        init_amp_wrapper_on_cpu(
            self, loss_scaler=torch.amp.GradScaler('cpu', enabled=False), cast_dtype=torch.bfloat16, **kwargs)
