"""SAGAN discriminator: ResNet down-blocks, self-attention where configured, projection head."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch.nn.functional as F
from torch import Tensor, nn

from sagan_plugin.registry import MODELS
from .conditional_batchnorm import check_label
from .residual_blocks import DownBlock
from .self_attention import SelfAttentionBlock, check_attention_at
from .spectral_norm import initialise_weights, snembedding, snlinear

# Per input scale: each block's output-channel multiplier of base_channels, and whether it halves the
# resolution (BigGAN-PyTorch's D_arch; the final blocks keep the size so D ends at 4×4, or 8×8 for 32).
ARCHITECTURES: Dict[int, Tuple[Tuple[int, ...], Tuple[bool, ...]]] = {
    32: ((4, 4, 4, 4), (True, True, False, False)),
    64: ((1, 2, 4, 8, 16), (True, ) * 4 + (False, )),
    128: ((1, 2, 4, 8, 16, 16), (True, ) * 5 + (False, )),
    256: ((1, 2, 4, 8, 8, 16, 16), (True, ) * 6 + (False, )),
}


def _block_resolutions(input_scale: int, downsample: Sequence[bool]) -> List[int]:
    """Output resolution of each down-block."""
    resolutions, res = [], input_scale
    for down in downsample:
        res = res // 2 if down else res
        resolutions.append(res)
    return resolutions


@MODELS.register_module()
class SAGANDiscriminator(nn.Module):
    """Image (and class y) → real/fake score, the projection discriminator of Miyato & Koyama (2018).

    ``φ(x) = Σ_{h,w} ReLU(blocks(x))`` (global sum pooling) and ``D(x, y) = ψ(φ(x)) + ⟨embed(y), φ(x)⟩``,
    the inner product dropped when ``num_classes=0``. A :class:`SelfAttentionBlock` follows the first
    down-block whose output resolution is in ``attention_at``. Every conv/linear/embedding is SN'd.

    Args:
        input_scale: image resolution S, one of 32, 64, 128, 256.
        num_classes: classes for the projection term; 0 = unconditional.
        base_channels: width multiplied by the per-resolution table ``ARCHITECTURES``.
        channels: explicit output widths, one per down-block; overrides the table.
        attention_at: resolutions after whose down-block a self-attention block sits.
        attention_variant: ``'paper'`` or ``'pooled'`` (see :class:`SelfAttentionBlock`).
        attention_k: channel reduction k of the attention's queries and keys.
        in_channels: image channels.
        init_type: ``'ortho'`` or ``'xavier'`` weight initialisation.
    """

    def __init__(self,
                 input_scale: int = 128,
                 num_classes: int = 0,
                 base_channels: int = 64,
                 channels: Optional[Sequence[int]] = None,
                 attention_at: Sequence[int] = (64, ),
                 attention_variant: str = 'paper',
                 attention_k: int = 8,
                 in_channels: int = 3,
                 init_type: str = 'ortho') -> None:
        super().__init__()
        if input_scale not in ARCHITECTURES:
            raise ValueError(f'input_scale must be one of {sorted(ARCHITECTURES)}, got {input_scale}')
        multipliers, downsample = ARCHITECTURES[input_scale]
        if channels is None:
            channels = [m * base_channels for m in multipliers]
        elif len(channels) != len(multipliers):
            raise ValueError(f'channels needs {len(multipliers)} entries (one per down-block), '
                             f'got {len(channels)}')
        resolutions = _block_resolutions(input_scale, downsample)
        wanted = check_attention_at(attention_at, resolutions)
        self.input_scale, self.num_classes, self.in_channels = input_scale, num_classes, in_channels
        self.blocks = nn.ModuleList(
            DownBlock(c_in, c_out, down, preactivation=i > 0)
            for i, (c_in, c_out, down) in enumerate(zip([in_channels, *channels[:-1]], channels, downsample)))
        # Keyed by resolution (stable state-dict names); only the first block at a resolution gets one.
        self._attention_after = [
            str(r) if r in wanted and r not in resolutions[:i] else None for i, r in enumerate(resolutions)
        ]
        self.attention = nn.ModuleDict({
            key: SelfAttentionBlock(c, attention_variant, attention_k)
            for key, c in zip(self._attention_after, channels) if key is not None
        })
        self.linear = snlinear(channels[-1], 1)  # ψ
        if num_classes > 0:
            self.embedding = snembedding(num_classes, channels[-1])  # projection embed(y)
        initialise_weights(self, init_type)

    def forward(self, x: Tensor, label: Optional[Tensor] = None) -> Tensor:
        """x: B×in_channels×S×S images, label: B class indices (if conditional) → B raw scores."""
        expected = (self.in_channels, self.input_scale, self.input_scale)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f'expected images of shape (B, {", ".join(map(str, expected))}), '
                             f'got {tuple(x.shape)}')
        y = check_label(label, self.num_classes, x.shape[0])
        h = x
        for block, key in zip(self.blocks, self._attention_after):
            h = block(h)
            if key is not None:
                h = self.attention[key](h)
        phi = F.relu(h).sum(dim=(2, 3))
        score = self.linear(phi).squeeze(1)
        if y is not None:
            score = score + (self.embedding(y) * phi).sum(dim=1)
        return score
