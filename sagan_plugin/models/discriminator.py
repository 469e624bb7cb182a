"""SAGAN discriminator: ResNet down-blocks, self-attention where configured, projection head."""
from functools import partial
from typing import Dict, Optional, Sequence, Tuple

import torch.nn.functional as F
from torch import Tensor

from sagan_plugin.registry import MODELS
from .layers import DownBlock
from .network import ResidualNetwork, Stage, check_label, initialise_weights, plan_blocks, table_rows
from .spectral_norm import SN_EPS, SNLayers

_DOWN = partial(Stage, resample=True)
# BigGAN-PyTorch's D_arch: one row per down-block; the last blocks keep the size: D ends at 4×4 (8×8 for 32).
# Blocks whose output is smaller than this keep conv + pool: at 4x4 outputs with 1024 channels the stride-2
# 4x4 conv's weight gradient is slower than the 3x3 conv it replaces (bench_train.py --res 128).
POOLED_CONV_MIN_OUTPUT = 8
ARCHITECTURES: Dict[int, Tuple[Stage, ...]] = {
    32: (_DOWN(4), _DOWN(4), Stage(4, False), Stage(4, False)),
    64: (_DOWN(1), _DOWN(2), _DOWN(4), _DOWN(8), Stage(16, False)),
    128: (_DOWN(1), _DOWN(2), _DOWN(4), _DOWN(8), _DOWN(16), Stage(16, False)),
    256: (_DOWN(1), _DOWN(2), _DOWN(4), _DOWN(8), _DOWN(8), _DOWN(16), Stage(16, False)),
}


@MODELS.register_module()
class SAGANDiscriminator(ResidualNetwork):
    """Image (and class y) → real/fake score, the projection discriminator of Miyato & Koyama (2018).

    ``φ(x) = Σ_{h,w} ReLU(blocks(x))`` (global sum pooling) and ``D(x, y) = ψ(φ(x)) + ⟨embed(y), φ(x)⟩``,
    the inner product dropped when ``num_classes=0``. A :class:`SelfAttentionBlock` follows the first
    down-block whose output resolution is in ``attention_at``. Every conv/linear/embedding is SN'd.

    Args:
        input_scale: image resolution S: 32, 64, 128 or 256 with the built-in tables, any with
            ``architecture``.
        num_classes: classes for the projection term; 0 = unconditional.
        base_channels: width unit of the table ``ARCHITECTURES``.
        channels: explicit output widths, one per down-block; overrides the table.
        architecture: rows ``[width multiplier, downsample]`` replacing ``ARCHITECTURES[input_scale]``.
        attention_at: resolutions after whose down-block a self-attention block sits.
        attention_variant: ``'paper'``, ``'pooled'`` or ``'residual'`` (see :class:`ResidualNetwork`).
        attention_k: channel reduction k of the attention's queries and keys.
        in_channels: image channels.
        relu_shortcut: feed every pre-activation block's shortcut ReLU(x) (StudioGAN's and mmagic's
            ``wReLUinplace`` SAGANs; see :class:`~.layers.DownBlock`); False is the block as designed.
        pooled_conv: run each downsampling block's second conv and its pooling as one stride-2 conv (same
            function to float rounding, 2.25× fewer FLOPs; measured in tools/benchmarks/bench_train.py), in
            blocks whose output is at least ``POOLED_CONV_MIN_OUTPUT`` px.
        sn_eps: ε of every SN power iteration.
        init_type: ``'ortho'`` or ``'xavier'`` weight initialisation.
        with_cp: activation checkpointing of every block and attention block (:mod:`.checkpointing`): less
            memory for one more forward of them per backward.
    """

    def __init__(self,
                 input_scale: int = 128,
                 num_classes: int = 0,
                 base_channels: int = 64,
                 channels: Optional[Sequence[int]] = None,
                 architecture: Optional[Sequence[Sequence]] = None,
                 attention_at: Sequence[int] = (64, ),
                 attention_variant: str = 'paper',
                 attention_k: int = 8,
                 in_channels: int = 3,
                 relu_shortcut: bool = False,
                 pooled_conv: bool = True,
                 sn_eps: float = SN_EPS,
                 init_type: str = 'ortho',
                 with_cp: bool = False) -> None:
        table = table_rows(architecture, ARCHITECTURES, input_scale, 'input_scale')
        if input_scale % 2**sum(s.resample for s in table):
            raise ValueError(f'architecture halves {input_scale} px {sum(s.resample for s in table)} times')
        sn = SNLayers(eps=sn_eps)
        plans = plan_blocks(table, base_channels, channels, in_channels, resolution=input_scale, factor=0.5)
        super().__init__(
            plans,
            lambda i, p: DownBlock(
                p.in_channels,
                p.out_channels,
                sn,
                p.resample,
                preactivation=i > 0,
                relu_shortcut=relu_shortcut,
                pooled_conv=pooled_conv and p.resolution >= POOLED_CONV_MIN_OUTPUT),
            attention_at,
            attention_variant,
            attention_k,
            sn=sn,
            with_cp=with_cp)
        self.input_scale, self.num_classes, self.in_channels = input_scale, num_classes, in_channels
        width = plans[-1].out_channels
        self.linear = sn.linear(width, 1)  # ψ
        if num_classes > 0:
            self.embedding = sn.embedding(num_classes, width)  # projection embed(y)
        initialise_weights(self, init_type)

    def forward(self, x: Tensor, label: Optional[Tensor] = None) -> Tensor:
        """x: B×in_channels×S×S images, label: B or B×1 int64 class indices (if conditional; B×1 as mmagic's
        ``PackInputs`` hands them) → B raw scores."""
        expected = (self.in_channels, self.input_scale, self.input_scale)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f'expected images of shape (B, {", ".join(map(str, expected))}), '
                             f'got {tuple(x.shape)}')
        y = check_label(label, self.num_classes, x.shape[0])
        phi = F.relu(self.trunk(x, None)).sum(dim=(2, 3))
        score = self.linear(phi).squeeze(1)
        if y is not None:
            score = score + (self.embedding(y) * phi).sum(dim=1)
        return score
