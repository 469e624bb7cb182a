"""SAGAN generator (Zhang et al. 2019): ResNet up-blocks, class-conditional BN, self-attention where asked."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sagan_plugin.registry import MODELS
from .conditional_batchnorm import check_label
from .residual_blocks import UpBlock
from .self_attention import SelfAttentionBlock, check_attention_at
from .spectral_norm import initialise_weights, snconv3x3, snlinear

# Channel multipliers of base_channels per stage, from 4×4 up to output_scale (BigGAN-PyTorch's G_arch).
CHANNEL_MULTIPLIERS: Dict[int, Tuple[int, ...]] = {
    32: (4, 4, 4, 4),
    64: (16, 16, 8, 4, 2),
    128: (16, 16, 8, 4, 2, 1),
    256: (16, 16, 8, 8, 4, 2, 1),
}


@MODELS.register_module()
class SAGANGenerator(nn.Module):
    """z (and class y) → image in [-1, 1].

    ``z → SN-linear → 4×4×C_0 → up-blocks (conditional BN) to output_scale → BN → ReLU → SN-conv3×3 → tanh``,
    with a :class:`SelfAttentionBlock` after the up-block whose output resolution is in ``attention_at``
    (the paper's best: 32 or 64 at 128×128, Table 1). Every conv/linear/embedding is spectral-normalised.

    Args:
        output_scale: output resolution S, one of 32, 64, 128, 256.
        num_classes: classes for conditional BN; 0 = unconditional.
        noise_size: length of z.
        base_channels: width multiplied by the per-resolution table ``CHANNEL_MULTIPLIERS``.
        channels: explicit widths, one per stage from 4×4 to S; overrides the table.
        attention_at: resolutions after whose up-block a self-attention block sits.
        attention_variant: ``'paper'`` or ``'pooled'`` (see :class:`SelfAttentionBlock`).
        attention_k: channel reduction k of the attention's queries and keys.
        out_channels: image channels.
        sn_embedding: spectral-normalise the conditional BN embeddings.
        init_type: ``'ortho'`` or ``'xavier'`` weight initialisation.
    """

    def __init__(self,
                 output_scale: int = 128,
                 num_classes: int = 0,
                 noise_size: int = 128,
                 base_channels: int = 64,
                 channels: Optional[Sequence[int]] = None,
                 attention_at: Sequence[int] = (64, ),
                 attention_variant: str = 'paper',
                 attention_k: int = 8,
                 out_channels: int = 3,
                 sn_embedding: bool = True,
                 init_type: str = 'ortho') -> None:
        super().__init__()
        if output_scale not in CHANNEL_MULTIPLIERS:
            raise ValueError(f'output_scale must be one of {sorted(CHANNEL_MULTIPLIERS)}, got {output_scale}')
        resolutions = [4 * 2**i for i in range(len(CHANNEL_MULTIPLIERS[output_scale]))]
        if channels is None:
            channels = [m * base_channels for m in CHANNEL_MULTIPLIERS[output_scale]]
        elif len(channels) != len(resolutions):
            raise ValueError(f'channels needs {len(resolutions)} entries (one per resolution {resolutions}), '
                             f'got {len(channels)}')
        wanted = check_attention_at(attention_at, resolutions[1:])
        self.output_scale, self.num_classes, self.noise_size = output_scale, num_classes, noise_size
        self.channels, self.resolutions = list(channels), resolutions[1:]
        self.linear = snlinear(noise_size, channels[0] * 4 * 4)
        self.blocks = nn.ModuleList(
            UpBlock(c_in, c_out, num_classes, sn_embedding)
            for c_in, c_out in zip(channels[:-1], channels[1:]))
        # Keyed by resolution, so state-dict names do not shift when attention moves.
        self.attention = nn.ModuleDict({
            str(res): SelfAttentionBlock(c, attention_variant, attention_k)
            for res, c in zip(self.resolutions, channels[1:]) if res in wanted
        })
        self.output_bn = nn.BatchNorm2d(channels[-1])
        self.output_conv = snconv3x3(channels[-1], out_channels)
        initialise_weights(self, init_type)

    def forward(self,
                noise: Tensor,
                label: Optional[Tensor] = None,
                return_noise: bool = False) -> Union[Tensor, Dict[str, Optional[Tensor]]]:
        """noise: B×noise_size, label: B class indices (if conditional) → B×out_channels×S×S in [-1, 1].

        With ``return_noise`` returns ``dict(fake_img=..., noise_batch=noise, label=label)``.
        """
        if noise.ndim != 2 or noise.shape[1] != self.noise_size:
            raise ValueError(f'expected noise of shape (B, {self.noise_size}), got {tuple(noise.shape)}')
        y = check_label(label, self.num_classes, noise.shape[0])
        h = self.linear(noise).view(noise.shape[0], self.channels[0], 4, 4)
        for res, block in zip(self.resolutions, self.blocks):
            h = block(h, y)
            if str(res) in self.attention:
                h = self.attention[str(res)](h)
        img = torch.tanh(self.output_conv(F.relu(self.output_bn(h))))
        return dict(fake_img=img, noise_batch=noise, label=label) if return_noise else img
