"""The one place that decides spectral normalisation (Miyato et al. 2018) for SAGAN's G and D.

SAGAN (Zhang et al. 2019, Sec. 4) puts spectral norm on *every* layer of both networks. Every weight layer of
G, D and the attention block is built by an :class:`SNLayers` factory (BigGAN-PyTorch ``layers.py`` style),
which makes that true by construction instead of by review, and gives one network one ε.

We use the hook-based :func:`torch.nn.utils.spectral_norm` with one power iteration per training forward. Its
state-dict keys (``weight_orig``, ``weight_u``, ``weight_v``) are the ones mmagic and StudioGAN checkpoints
use, which keeps the checkpoint converters a renaming exercise. ε only floors ‖u‖ and ‖v‖ during the power
iteration (training); evaluation-mode outputs do not depend on it.
"""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import spectral_norm
from torch.nn.utils.spectral_norm import SpectralNorm

from .checkpointing import is_recomputing

# Floor on the norms of u and v in the power iteration: 1e-8, as BigGAN-PyTorch's SA-GAN launch script.
SN_EPS = 1e-8


@dataclass(frozen=True)
class SNLayers:
    """Factories for spectral-normalised conv / linear / embedding layers sharing one ε.

    Args:
        eps: floor on the norms of u and v in the power iteration (mmagic: 1e-12, StudioGAN: 1e-6).
        enabled: False builds plain layers (for experiments only; SAGAN has SN everywhere).
    """
    eps: float = SN_EPS
    enabled: bool = True

    def _sn(self, layer: nn.Module) -> nn.Module:
        if not self.enabled:
            return layer
        layer = spectral_norm(layer, n_power_iterations=1, eps=self.eps)
        for hook in layer._forward_pre_hooks.values():  # torch's SN hook object: only its class changes
            if type(hook) is SpectralNorm:
                hook.__class__ = Float32SpectralNorm
        layer.register_forward_hook(_release_weight)
        return layer

    def conv(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> nn.Module:
        """A same-padding conv (kernel 1 or 3)."""
        return self._sn(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias))

    def pooled_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        """A 3×3 conv followed by 2×2 average pooling, run as one conv (see :class:`PooledConv2d`)."""
        return self._sn(PooledConv2d(in_channels, out_channels, 3, padding=1))

    def upsampled_conv(self, in_channels: int, out_channels: int) -> nn.Module:
        """Nearest 2× upsampling followed by a 3×3 conv, run as one conv (see :class:`UpsampledConv2d`)."""
        return self._sn(UpsampledConv2d(in_channels, out_channels, 3, padding=1))

    def linear(self, in_features: int, out_features: int, bias: bool = True) -> nn.Module:
        return self._sn(nn.Linear(in_features, out_features, bias=bias))

    def embedding(self, num_embeddings: int, embedding_dim: int) -> nn.Module:
        return self._sn(nn.Embedding(num_embeddings, embedding_dim))


def _release_weight(module: nn.Module, inputs, output) -> None:
    """After a training forward, drop the layer's reference to W/σ (autograd keeps what backward needs).

    torch's hook leaves W/σ on the layer until its next forward: a second copy of every weight held across
    the other network's step (326 MB of G and D at 128², ``bench_train.py --res 128``). Eval-mode forwards
    keep it, so ``layer.weight`` reads as torch's after ``eval()``.
    """
    if module.training:
        module.weight = None


def _is_channels_last(weight: Tensor) -> bool:
    """A conv weight stored channels-last (O, kh, kw, I in memory), as with ``SAGAN(channels_last=True)``."""
    return weight.dim() == 4 and not weight.is_contiguous() and weight.is_contiguous(
        memory_format=torch.channels_last)


def _as_matrix(weight: Tensor, channels_last: bool) -> Tensor:
    """``weight`` as an O×n matrix view, columns in memory order: no copy (reshaping a channels-last weight
    the usual way is a transposing copy, ~20 ms for a 1024×1024×3×3 conv on a CPU)."""
    return (weight.permute(0, 2, 3, 1) if channels_last else weight).reshape(weight.shape[0], -1)


class _Normalise(torch.autograd.Function):
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
        channels_last = _is_channels_last(weight)
        layout = torch.channels_last if channels_last else torch.contiguous_format
        grad = grad.contiguous(memory_format=layout)  # the weight's layout (a no-op for our networks)
        g, w = (_as_matrix(t, channels_last).view(-1) for t in (grad, weight))
        c = torch.dot(g, w) / sigma  # ⟨G, W⟩ / σ
        ones = [1] * (weight.dim() - 1)
        # broadcast in the weight's own shape: the result keeps grad's (= the weight's) layout
        grad_weight = torch.addcmul(grad, (u * -c).view(-1, *ones), v.view(1, *weight.shape[1:]))
        return grad_weight.div_(sigma), None, None, None


class Float32SpectralNorm(SpectralNorm):
    """torch's spectral-norm hook with σ computed in float32 under autocast and a cheaper gradient.

    CUDA autocast runs ``mv`` in half precision, which would put σ — a product over every weight — in
    bf16/fp16; the normalised weight is still cast to the autocast dtype by the layer that uses it. The
    power iteration is torch's (same u, v updates, same σ) on the weight as it lies in memory (u and v keep
    torch's order); the division is :class:`_Normalise`, whose gradient equals autograd's to float rounding
    (tests/models/test_spectral_norm.py). A checkpointed forward re-run in backward (:mod:`.checkpointing`)
    reuses this step's u and v: the same W/σ, no second update.
    """

    def compute_weight(self, module: nn.Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + '_orig')
        if self.dim != 0:  # our layers normalise along dim 0; anything else takes torch's path
            return super().compute_weight(module, do_power_iteration)
        with torch.autocast(device_type=weight.device.type, enabled=False):
            u, v = getattr(module, self.name + '_u'), getattr(module, self.name + '_v')
            channels_last = _is_channels_last(weight)
            weight_mat = _as_matrix(weight.detach(), channels_last)
            with torch.no_grad():
                # v in the matrix's column order: kh, kw, I when channels-last (the buffer keeps I, kh, kw)
                v_mat = v.view(weight.shape[1:]).permute(1, 2, 0).reshape(-1) if channels_last else v
                wv = None
                # torch's, in place (see torch.nn.utils.spectral_norm); a checkpoint's re-run keeps u and v
                if do_power_iteration and not is_recomputing():
                    for _ in range(self.n_power_iterations):
                        v_mat = F.normalize(torch.mv(weight_mat.t(), u), dim=0, eps=self.eps)
                        wv = torch.mv(weight_mat, v_mat)
                        u = F.normalize(wv, dim=0, eps=self.eps, out=u)
                    if channels_last:  # the buffer back in torch's I, kh, kw order
                        v_mat = v_mat.view(*weight.shape[2:], -1).permute(2, 0, 1).reshape(-1)
                    v.copy_(v_mat)
                    # clones: a second forward before backward updates u and v in place again
                    u, v = u.clone(), v.clone()
                # torch recomputes W v here; the last iteration's is the same product
                sigma = torch.dot(u, torch.mv(weight_mat, v_mat) if wv is None else wv)
            return _Normalise.apply(weight, u, v, sigma)


def _sum_of_shifts(w: Tensor) -> Tensor:
    """The k×k kernel ``w`` placed at the four offsets (a, b) ∈ {0, 1}² of a (k+1)×(k+1) kernel, summed."""
    shifts = ((0, 1, 0, 1), (1, 0, 0, 1), (0, 1, 1, 0), (1, 0, 1, 0))  # F.pad's (left, right, top, bottom)
    return sum(F.pad(w, shift) for shift in shifts)


class PooledConv2d(nn.Conv2d):
    """``avg_pool2d(conv3×3(x), 2)`` computed as one stride-2 4×4 conv: 2.25× fewer FLOPs, same function.

    Both are linear, so their composition is a conv whose 4×4 kernel is the 3×3 kernel box-filtered:
    ``K[u, v] = ¼ Σ_{a,b∈{0,1}} W[u-a, v-b]``. The parameters (and, under SN, ``weight_orig``/``u``/``v``) are
    those of the 3×3 conv, so checkpoints and converters do not see the difference.
    x: B×C×H×W → B×C'×H/2×W/2.
    """

    def forward(self, x: Tensor) -> Tensor:
        kernel = _sum_of_shifts(self.weight) / 4
        return F.conv2d(x, kernel, self.bias, stride=2, padding=1)


class UpsampledConv2d(nn.Conv2d):
    """``conv3×3(upsample_nearest(x, 2))`` computed as one stride-2 4×4 transposed conv: 2.25× fewer FLOPs,
    the same function, and backward keeps x instead of the 4× larger upsampled map.

    Per axis, output 2i takes ``W0·x[i-1] + (W1+W2)·x[i]`` and 2i+1 takes ``(W0+W1)·x[i] + W2·x[i+1]``: the
    transposed conv's kernel is the flipped 3×3 kernel summed over the four 1-px shifts, in/out swapped. The
    parameters (and, under SN, ``weight_orig``/``u``/``v``) are those of the 3×3 conv, so checkpoints and
    converters do not see the difference. x: B×C×H×W → B×C'×2H×2W.
    """

    def forward(self, x: Tensor) -> Tensor:
        kernel = _sum_of_shifts(self.weight.flip(2, 3).transpose(0, 1))
        return F.conv_transpose2d(x, kernel, self.bias, stride=2, padding=1)


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether ``module``'s weight is reparametrised by the SN hook (it then owns ``weight_orig``)."""
    return hasattr(module, 'weight_orig')
