"""Residual up-block (G) and down-block (D) of SAGAN, in the SNGAN / BigGAN-PyTorch form.

Every conv comes from the spectral-norm factory, so both networks are SN'd throughout (SAGAN Sec. 4).
"""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn

from .conditional_batchnorm import ConditionalBatchNorm2d
from .spectral_norm import snconv1x1, snconv3x3


class UpBlock(nn.Module):
    """G block: ``BN → ReLU → up×2 → conv3×3 → BN → ReLU → conv3×3`` plus a 1×1-conv'd upsampled shortcut.

    Both BNs are class-conditional when ``num_classes > 0``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        num_classes: classes for the conditional BNs; 0 = unconditional.
        sn_embedding: spectral-normalise the conditional BN embeddings.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_classes: int = 0,
                 sn_embedding: bool = True) -> None:
        super().__init__()
        self.bn1 = ConditionalBatchNorm2d(in_channels, num_classes, sn_embedding)
        self.conv1 = snconv3x3(in_channels, out_channels)
        self.bn2 = ConditionalBatchNorm2d(out_channels, num_classes, sn_embedding)
        self.conv2 = snconv3x3(out_channels, out_channels)
        self.shortcut = snconv1x1(in_channels, out_channels)

    def forward(self, x: Tensor, label: Optional[Tensor] = None) -> Tensor:
        """x: B×C_in×H×W → B×C_out×2H×2W."""
        h = F.interpolate(F.relu(self.bn1(x, label)), scale_factor=2, mode='nearest')
        h = self.conv2(F.relu(self.bn2(self.conv1(h), label)))
        # 1×1 conv and nearest upsampling commute exactly (both per-pixel); convolving first is 4× cheaper.
        return h + F.interpolate(self.shortcut(x), scale_factor=2, mode='nearest')


class DownBlock(nn.Module):
    """D block: ``[ReLU →] conv3×3 → ReLU → conv3×3 [→ avg-pool]`` plus a shortcut.

    The first D block is the "optimized" one of SNGAN / BigGAN (``preactivation=False``): its input is the
    image, where a leading ReLU would throw away the negative half of the pixel range.
    The shortcut is a learnable 1×1 conv whenever channels change or the block downsamples, else identity.

    Args:
        in_channels: input channels.
        out_channels: output channels (also the hidden width, BigGAN's ``wide=True``).
        downsample: halve the resolution with a 2×2 average pool.
        preactivation: apply ReLU to the input first (False only for the first block).
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 downsample: bool = True,
                 preactivation: bool = True) -> None:
        super().__init__()
        self.downsample = downsample
        self.preactivation = preactivation
        self.conv1 = snconv3x3(in_channels, out_channels)
        self.conv2 = snconv3x3(out_channels, out_channels)
        learnable = downsample or in_channels != out_channels
        self.shortcut = snconv1x1(in_channels, out_channels) if learnable else nn.Identity()

    def _pool(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, 2) if self.downsample else x

    def forward(self, x: Tensor) -> Tensor:
        """x: B×C_in×H×W → B×C_out×H'×W' with H' = H/2 if ``downsample`` else H."""
        h = F.relu(x) if self.preactivation else x
        h = self._pool(self.conv2(F.relu(self.conv1(h))))
        # 2×2 average pooling and a 1×1 conv commute (both linear, the conv per-pixel), so pooling first is
        # the same function at 4× fewer FLOPs; BigGAN's pre-activation blocks convolve first.
        return h + self.shortcut(self._pool(x))
