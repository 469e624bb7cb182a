"""SAGAN's building blocks: class-conditional BatchNorm, G's up-block, D's down-block (SNGAN / BigGAN form).

Every conv comes from an :class:`~.spectral_norm.SNLayers` factory, so both networks are SN'd throughout
(SAGAN Sec. 4). Shortcut orders are chosen for speed where two orders are the same function; the docstrings
say which, and ``tests/models/test_layers.py`` checks the equality.
"""
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .checkpointing import BatchNorm2d, checkpoint
from .spectral_norm import SNLayers


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose affine gain and bias are looked up per class (de Vries et al. 2017).

    ``y = BN(x) * (1 + gain[label]) + bias[label]`` with ``BN`` non-affine: the ``1 +`` keeps the block close
    to plain BN at initialisation whatever the embeddings start at (BigGAN, StudioGAN, mmagic's BigGAN/studio
    init). With ``num_classes=0`` this is an ordinary affine ``BatchNorm2d`` and ``label`` is ignored.

    Args:
        num_features: channels C of the input.
        num_classes: number of classes; 0 for the unconditional form.
        sn: factory of the gain/bias embeddings; None leaves them without SN (BigGAN-PyTorch's SA-GAN script).
        eps: BatchNorm ε (PyTorch/BigGAN 1e-5; mmagic and StudioGAN 1e-4).
    """

    def __init__(self,
                 num_features: int,
                 num_classes: int = 0,
                 sn: Optional[SNLayers] = SNLayers(),
                 eps: float = 1e-5) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.bn = BatchNorm2d(num_features, eps=eps, affine=num_classes == 0)
        if num_classes > 0:
            embedding = sn.embedding if sn is not None else nn.Embedding
            self.gain = embedding(num_classes, num_features)
            self.bias = embedding(num_classes, num_features)

    def forward(self, x: Tensor, label: Optional[Tensor] = None) -> Tensor:
        """x: B×C×H×W; label (required iff ``num_classes > 0``): B class indices, or B×K class weights that
        mix the classes' gains and biases (rows summing to 1 interpolate between classes). Returns B×C×H×W."""
        out = self.bn(x)
        if self.num_classes == 0:
            return out
        # In BN's output dtype: under bf16 autocast an fp32 gain would promote the whole map to fp32, for the
        # next conv to cast back (15% of a CPU bf16 step at 32², and twice the memory kept for backward).
        gain, bias = (self._embed(t, label)[:, :, None, None].to(out.dtype) for t in (self.gain, self.bias))
        # Not torch.addcmul: its backward copies ``out`` once more (``out * value``), a third B×C×H×W
        # temporary beside the two gradients, at the step's memory peak (benchmarks/bench_live_memory.py).
        return (out * (1 + gain)).add_(bias)

    def _embed(self, table: nn.Module, label: Tensor) -> Tensor:
        if label.is_floating_point():  # class weights: look every class up (runs the SN hook), then mix
            return label @ table(torch.arange(self.num_classes, device=label.device))
        return table(label)


class UpBlock(nn.Module):
    """G block: ``BN → ReLU → up×2 → conv3×3 → BN → ReLU → conv3×3`` plus a 1×1-conv'd upsampled shortcut.

    ``up×2 → conv3×3`` runs as one transposed conv by default (``upsampled_conv``), the mirror of D's
    ``pooled_conv``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        sn: the network's SN layer factory.
        norm: ``norm(channels)`` builds a (conditional) BatchNorm taking ``(x, label)``.
        upsample: double the resolution (nearest neighbour); every block of the standard tables does.
        upsampled_conv: run the upsampling and conv1 as one transposed conv
            (:class:`~.resampling_convs.UpsampledConv2d`, equal to float rounding, 2.25× fewer FLOPs); False
            upsamples, then convolves.
        recompute_activations: keep only the input of each ``BN → ReLU [→ up×2] → conv`` for backward and
            recompute the BN and ReLU outputs (and the upsampled map) there, instead of keeping them
            (:func:`~.checkpointing.checkpoint`: its re-run stops at the conv, which is not re-run).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 sn: SNLayers,
                 norm: Callable[[int], nn.Module],
                 upsample: bool = True,
                 upsampled_conv: bool = True,
                 recompute_activations: bool = False) -> None:
        super().__init__()
        self.upsample = upsample
        self.recompute_activations = recompute_activations
        self.upsample_before_conv1 = upsample and not upsampled_conv  # else conv1 upsamples, or none does
        self.bn1 = norm(in_channels)
        fused = upsample and upsampled_conv
        self.conv1 = sn.upsampled_conv(in_channels, out_channels) if fused else sn.conv(
            in_channels, out_channels, 3)
        self.bn2 = norm(out_channels)
        self.conv2 = sn.conv(out_channels, out_channels, 3)
        self.shortcut = sn.conv(in_channels, out_channels, 1)

    def _up(self, x: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=2, mode='nearest') if self.upsample else x

    def _conv1(self, x: Tensor, label: Optional[Tensor]) -> Tensor:
        h = F.relu(self.bn1(x, label))
        return self.conv1(self._up(h) if self.upsample_before_conv1 else h)

    def _conv2(self, h: Tensor, label: Optional[Tensor]) -> Tensor:
        return self.conv2(F.relu(self.bn2(h, label)))

    def _to_conv(self, unit: Callable[..., Tensor], *args) -> Tensor:
        return checkpoint(unit, *args) if self.recompute_activations else unit(*args)

    def forward(self, x: Tensor, label: Optional[Tensor] = None) -> Tensor:
        """x: B×C_in×H×W → B×C_out×2H×2W (H×W without ``upsample``)."""
        h = self._to_conv(self._conv1, x, label)
        h = self._to_conv(self._conv2, h, label)
        # 1×1 conv and nearest upsampling commute exactly (both per-pixel); convolving first is 4× cheaper.
        return h + self._up(self.shortcut(x))


class DownBlock(nn.Module):
    """D block: ``[ReLU →] conv3×3 → ReLU → conv3×3 [→ avg-pool]`` plus a shortcut.

    The first D block is the "optimized" one of SNGAN / BigGAN (``preactivation=False``): its input is the
    image, where a leading ReLU would throw away the negative half of the pixel range. The shortcut is a
    learnable 1×1 conv whenever channels change or the block downsamples, else identity. 2×2 average pooling
    and a 1×1 conv commute (both linear, the conv per-pixel), so the shortcut pools first: the same function
    at 4× fewer FLOPs than BigGAN's conv-then-pool (equal to float rounding).

    Args:
        in_channels: input channels.
        out_channels: output channels (also the hidden width, BigGAN's ``wide=True``).
        sn: the network's SN layer factory.
        downsample: halve the resolution with a 2×2 average pool.
        preactivation: apply ReLU to the input first (False only for the first block).
        relu_shortcut: feed the shortcut ReLU(x) instead of x. StudioGAN's and mmagic's ``wReLUinplace``
            SAGANs do this by accident (an in-place ReLU also rewrites the shortcut's input); their
            checkpoints need it.
        pooled_conv: run conv2 and the pooling as one stride-2 conv (:class:`~.resampling_convs.PooledConv2d`,
            equal to float rounding, 2.25× fewer FLOPs); False convolves, then pools.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 sn: SNLayers,
                 downsample: bool = True,
                 preactivation: bool = True,
                 relu_shortcut: bool = False,
                 pooled_conv: bool = True) -> None:
        super().__init__()
        self.downsample = downsample
        self.preactivation = preactivation
        self.relu_shortcut = relu_shortcut and preactivation
        self.pool_after_conv2 = downsample and not pooled_conv  # else conv2 pools itself, or nothing pools
        self.conv1 = sn.conv(in_channels, out_channels, 3)
        fused = downsample and pooled_conv
        self.conv2 = sn.pooled_conv(out_channels, out_channels) if fused else sn.conv(
            out_channels, out_channels, 3)
        learnable = downsample or in_channels != out_channels
        self.shortcut = sn.conv(in_channels, out_channels, 1) if learnable else nn.Identity()

    def _pool(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, 2) if self.downsample else x

    def forward(self, x: Tensor, label: Optional[Tensor] = None) -> Tensor:
        """x: B×C_in×H×W → B×C_out×H'×W' with H' = H/2 if ``downsample`` else H (``label`` is unused)."""
        h = F.relu(x) if self.preactivation else x
        shortcut = self.shortcut(self._pool(h if self.relu_shortcut else x))
        h = self.conv2(F.relu(self.conv1(h)))
        return (F.avg_pool2d(h, 2) if self.pool_after_conv2 else h) + shortcut


class ResidualControl(nn.Module):
    """The paper's control for self-attention (Table 1, "residual"): a local residual block in its slot.

    ``y = x + γ · conv3×3_{h→C}(ReLU(conv3×3_{C→h}(x)))``: the attention block's form (γ starts at 0, SN'd,
    bias-free convs, same place in the network) with its non-local softmax aggregation replaced by two local
    3×3 convs. ``hidden`` (h) is chosen by the network to match the replaced attention block's parameters.

    Args:
        in_channels: channels C of the feature map.
        hidden: channels h between the two convs.
        sn: the network's SN layer factory.
    """

    def __init__(self, in_channels: int, hidden: int, sn: SNLayers) -> None:
        super().__init__()
        self.conv1 = sn.conv(in_channels, hidden, 3, bias=False)
        self.conv2 = sn.conv(hidden, in_channels, 3, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        """x: B×C×H×W → B×C×H×W."""
        return x + self.gamma * self.conv2(F.relu(self.conv1(x)))
