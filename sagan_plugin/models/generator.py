"""SAGAN generator (Zhang et al. 2019): ResNet up-blocks, class-conditional BN, self-attention where asked."""
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from sagan_plugin.registry import MODELS
from .checkpointing import BatchNorm2d, checkpoint
from .layers import ConditionalBatchNorm2d, UpBlock
from .network import ResidualNetwork, Stage, check_label, initialise_weights, plan_blocks, table_rows
from .spectral_norm import SN_EPS, SNLayers

_UP = partial(Stage, resample=True)
# Up-blocks with a smaller input keep upsample + conv: at 4×4 and 8×8 inputs with 512-1024 channels the
# transposed conv is 1.3-7× slower than the conv it replaces; from 16×16 on it is 1.1-5.1× faster (fp32 and
# bf16, tools/benchmarks/bench_upsampled_conv.py).
UPSAMPLED_CONV_MIN_INPUT = 16
# BigGAN-PyTorch's G_arch. The first row is the 4×4 map the linear layer makes; each later row an up-block.
ARCHITECTURES: Dict[int, Tuple[Stage, ...]] = {
    32: (Stage(4, False), _UP(4), _UP(4), _UP(4)),
    64: (Stage(16, False), _UP(16), _UP(8), _UP(4), _UP(2)),
    128: (Stage(16, False), _UP(16), _UP(8), _UP(4), _UP(2), _UP(1)),
    256: (Stage(16, False), _UP(16), _UP(8), _UP(8), _UP(4), _UP(2), _UP(1)),
}


def _widths(table: Sequence[Stage], output_scale: int, base_channels: int,
            channels: Optional[Sequence[int]]) -> List[int]:
    """Channels of the 4×4 stem and of each up-block, once ``table`` is checked to reach ``output_scale``."""
    if 4 * 2**sum(s.resample for s in table[1:]) != output_scale:
        raise ValueError(f'architecture doubles 4x4 to {4 * 2**sum(s.resample for s in table[1:])} px, '
                         f'not output_scale={output_scale}')
    if channels is not None and len(channels) != len(table):
        raise ValueError(f'channels needs {len(table)} entries (the 4×4 stem, then one per up-block), '
                         f'got {len(channels)}')
    return [s.width * base_channels for s in table] if channels is None else list(channels)


@MODELS.register_module()
class SAGANGenerator(ResidualNetwork):
    """z (and class y) → image in [-1, 1].

    ``z → SN-linear → 4×4×C_0 → up-blocks (conditional BN) to output_scale → BN → ReLU → SN-conv3×3 → tanh``,
    with a :class:`SelfAttentionBlock` after the up-block whose output resolution is in ``attention_at``
    (the paper's best: 32 or 64 at 128×128, Table 1). Every conv/linear/embedding is spectral-normalised.

    Args:
        output_scale: output resolution S: 32, 64, 128 or 256 with the built-in tables, any with
            ``architecture``.
        num_classes: classes for conditional BN; 0 = unconditional.
        noise_size: length of z.
        base_channels: width unit of the table ``ARCHITECTURES``.
        channels: explicit widths, one per row (4×4 stem, then each up-block); overrides the table.
        architecture: rows ``[width multiplier, upsample]`` replacing ``ARCHITECTURES[output_scale]`` (the
            first row is the 4×4 stem).
        attention_at: resolutions after whose up-block a self-attention block sits.
        attention_variant: ``'paper'``, ``'pooled'`` or ``'residual'`` (see :class:`ResidualNetwork`).
        attention_k: channel reduction k of the attention's queries and keys.
        out_channels: image channels.
        rgb_to_bgr: reverse the order of the output channels (3 only): for weights trained on RGB images
            used in a BGR pipeline (mmagic's converted StudioGAN SAGANs, ``rgb_to_bgr=True`` there).
        sn_embedding: spectral-normalise the conditional BN embeddings.
        sn_eps: ε of every SN power iteration.
        norm_eps: ε of every BatchNorm.
        init_type: ``'ortho'`` or ``'xavier'`` weight initialisation.
        upsampled_conv: run each up-block's upsampling and first conv as one transposed conv (same function
            to float rounding, 2.25× fewer FLOPs, no upsampled map kept for backward; see
            :class:`~.layers.UpBlock`), in blocks whose input is at least ``UPSAMPLED_CONV_MIN_INPUT`` px.
        with_cp: activation checkpointing of every block, attention block and the output layers
            (:mod:`.checkpointing`): less memory for one more forward of them per backward.
        recompute_activations: keep only the input of every ``BN → ReLU → conv`` for backward and recompute
            the BN and ReLU outputs there (see :class:`~.layers.UpBlock`); the convs are not re-run. Less
            memory than without, more than ``with_cp``, at the cost of the elementwise ops only.
    """

    def __init__(self,
                 output_scale: int = 128,
                 num_classes: int = 0,
                 noise_size: int = 128,
                 base_channels: int = 64,
                 channels: Optional[Sequence[int]] = None,
                 architecture: Optional[Sequence[Sequence]] = None,
                 attention_at: Sequence[int] = (64, ),
                 attention_variant: str = 'paper',
                 attention_k: int = 8,
                 out_channels: int = 3,
                 rgb_to_bgr: bool = False,
                 sn_embedding: bool = True,
                 sn_eps: float = SN_EPS,
                 norm_eps: float = 1e-5,
                 init_type: str = 'ortho',
                 upsampled_conv: bool = True,
                 with_cp: bool = False,
                 recompute_activations: bool = False) -> None:
        if with_cp and recompute_activations:
            raise ValueError('with_cp=True already recomputes every activation in backward; '
                             'set recompute_activations=False with it')
        if rgb_to_bgr and out_channels != 3:
            raise ValueError(f'rgb_to_bgr=True needs out_channels=3, got {out_channels}')
        table = table_rows(architecture, ARCHITECTURES, output_scale, 'output_scale')
        widths = _widths(table, output_scale, base_channels, channels)
        sn = SNLayers(eps=sn_eps)
        norm = partial(
            ConditionalBatchNorm2d, num_classes=num_classes, sn=sn if sn_embedding else None, eps=norm_eps)
        plans = plan_blocks(table[1:], base_channels, widths[1:], widths[0], resolution=4, factor=2)
        super().__init__(
            plans,
            lambda i, p: UpBlock(
                p.in_channels,
                p.out_channels,
                sn,
                norm,
                upsample=p.resample,
                upsampled_conv=upsampled_conv and p.resolution // 2 >= UPSAMPLED_CONV_MIN_INPUT,
                recompute_activations=recompute_activations),
            attention_at,
            attention_variant,
            attention_k,
            sn=sn,
            with_cp=with_cp)
        self.output_scale, self.num_classes, self.noise_size = output_scale, num_classes, noise_size
        self.recompute_activations, self.rgb_to_bgr = recompute_activations, rgb_to_bgr
        self.channels = widths
        self.linear = sn.linear(noise_size, widths[0] * 4 * 4)
        self.output_bn = BatchNorm2d(widths[-1], eps=norm_eps)
        self.output_conv = sn.conv(widths[-1], out_channels, 3)
        initialise_weights(self, init_type)

    def forward(self,
                noise: Tensor,
                label: Optional[Tensor] = None,
                return_noise: bool = False) -> Union[Tensor, Dict[str, Optional[Tensor]]]:
        """noise: B×noise_size, label: B or B×1 class indices (int64; B×1 is how mmagic's ``PackInputs``
        hands them) or B×K float class weights (if conditional) →
        B×out_channels×S×S in [-1, 1]. Class weights mix the classes' conditional-BN embeddings (e.g.
        ``(1-t)·onehot(a) + t·onehot(b)`` interpolates from class a to class b).

        With ``return_noise`` returns ``dict(fake_img=..., noise_batch=noise, label=label)`` (mmagic's form).
        """
        if noise.ndim != 2 or noise.shape[1] != self.noise_size:
            raise ValueError(f'expected noise of shape (B, {self.noise_size}), got {tuple(noise.shape)}')
        y = check_label(label, self.num_classes, noise.shape[0], allow_weights=True)
        h = self.trunk(self.linear(noise).view(noise.shape[0], self.channels[0], 4, 4), y)
        img = self._run(self._output, h)
        img = img.flip(1) if self.rgb_to_bgr else img  # 3 channels: RGB -> BGR
        return dict(fake_img=img, noise_batch=noise, label=label) if return_noise else img

    def _output(self, h: Tensor) -> Tensor:
        """B×C×S×S features → B×out_channels×S×S image in [-1, 1]."""
        return torch.tanh(
            checkpoint(self._output_conv, h) if self.recompute_activations else self._output_conv(h))

    def _output_conv(self, h: Tensor) -> Tensor:
        return self.output_conv(F.relu(self.output_bn(h)))
