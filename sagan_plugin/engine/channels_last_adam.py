"""torch's Adam for networks whose conv weights lie channels-last (``SAGAN(channels_last=True)``)."""
import torch
from torch import Tensor

from sagan_plugin.compat import AdamGatherHook
from sagan_plugin.registry import OPTIMIZERS


def _memory_format(param: Tensor) -> torch.memory_format:
    """Channels-last for a 4-D weight stored O, kh, kw, I; contiguous otherwise."""
    channels_last = param.dim() == 4 and not param.is_contiguous() and param.is_contiguous(
        memory_format=torch.channels_last)
    return torch.channels_last if channels_last else torch.contiguous_format


def _flat(tensor: Tensor) -> Tensor:
    """A contiguous view of ``tensor``'s memory: O×kh×kw×I for a channels-last weight, itself otherwise."""
    return tensor.permute(0, 2, 3, 1) if _memory_format(tensor) == torch.channels_last else tensor


@OPTIMIZERS.register_module()
class ChannelsLastAdam(AdamGatherHook):
    """``torch.optim.Adam`` (same arguments, same state dict, same numbers) that hands every tensor of a
    channels-last weight to the kernel as the contiguous view of its memory.

    Why: torch's fused CPU kernel (``FusedAdamKernel.cpp``, torch 2.13) walks weight, gradient and both
    moments as flat arrays. For a channels-last weight it first copies the gradient to contiguous and then
    does not use the copy: the optimizer steps took 111 instead of 50 ms of a 1.6 s bf16 iteration at 128²
    (``tools/benchmarks/profile_step.py``). And where the moments' layout differs from the weight's (a run
    resumed after switching ``model.channels_last``), it pairs the wrong elements without an error. Here the
    moments and gradient are first brought to the weight's layout (a no-op in the usual case), so the flat
    views line up.
    """

    def before_gather(self, group: dict) -> None:
        """Bring each weight's gradient and moments to the weight's memory layout (usually a no-op)."""
        for param in group['params']:
            layout = _memory_format(param)
            if param.grad is not None and not param.grad.is_contiguous(memory_format=layout):
                param.grad = param.grad.contiguous(memory_format=layout)
            state = self.state.get(param, {})
            for key, value in state.items():
                if torch.is_tensor(value) and value.shape == param.shape:
                    state[key] = value.contiguous(memory_format=layout)  # itself when already in layout

    def after_gather(self, *tensor_lists: list) -> None:
        """Hand the kernel each tensor as the contiguous view of its memory."""
        for tensors in tensor_lists:
            tensors[:] = [_flat(t) for t in tensors]
