"""``W / σ`` of spectral normalisation as one autograd function with a three-pass gradient, in the weight's
own memory layout (channels-last or not)."""
import torch
from torch import Tensor


def is_channels_last(weight: Tensor) -> bool:
    """A conv weight stored channels-last (O, kh, kw, I in memory), as with ``SAGAN(channels_last=True)``."""
    return weight.dim() == 4 and not weight.is_contiguous() and weight.is_contiguous(
        memory_format=torch.channels_last)


def as_matrix(weight: Tensor, channels_last: bool) -> Tensor:
    """``weight`` as an O×n matrix view, columns in memory order: no copy (reshaping a channels-last weight
    the usual way is a transposing copy, ~20 ms for a 1024×1024×3×3 conv on a CPU)."""
    return (weight.permute(0, 2, 3, 1) if channels_last else weight).reshape(weight.shape[0], -1)


class Normalise(torch.autograd.Function):
    """``W / σ`` with ``σ = uᵀ W v`` (u, v constants of this forward), differentiated in three weight passes.

    Autograd of torch's ``weight / torch.dot(u, torch.mv(W, v))`` makes about seven passes over the weight
    (divide, negate, multiply, sum, outer product, accumulate); on D's and G's 1024×1024×3×3 convs these
    memory-bound passes took ~30% of a bf16 step at 128² (tools/benchmarks/bench_train.py). Analytically
    ``∂L/∂W = (G - ⟨G, W⟩/σ · u vᵀ) / σ`` for the incoming gradient G: one dot product, one rank-1 update,
    each in the weight's memory layout (channels-last or not), so the gradient needs no transposing copy.
    """

    @staticmethod
    def forward(ctx, weight: Tensor, u: Tensor, v: Tensor, sigma: Tensor) -> Tensor:
        ctx.save_for_backward(weight, u, v, sigma)
        return weight / sigma

    @staticmethod
    def backward(ctx, grad: Tensor):
        weight, u, v, sigma = ctx.saved_tensors
        channels_last = is_channels_last(weight)
        layout = torch.channels_last if channels_last else torch.contiguous_format
        grad = grad.contiguous(memory_format=layout)  # the weight's layout (a no-op for our networks)
        g, w = (as_matrix(t, channels_last).view(-1) for t in (grad, weight))
        c = torch.dot(g, w) / sigma  # ⟨G, W⟩ / σ
        ones = [1] * (weight.dim() - 1)
        # broadcast in the weight's own shape: the result keeps grad's (= the weight's) layout
        grad_weight = torch.addcmul(grad, (u * -c).view(-1, *ones), v.view(1, *weight.shape[1:]))
        return grad_weight.div_(sigma), None, None, None
