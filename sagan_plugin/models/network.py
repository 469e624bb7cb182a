"""What SAGAN's generator and discriminator share: a per-resolution table of residual blocks, one mechanism
that places self-attention after the blocks whose output resolution is asked for, label checks and weight
initialisation (BigGAN-PyTorch's ``G_arch`` / ``D_arch`` as data, not if/else chains)."""
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from .checkpointing import checkpoint
from .layers import ResidualControl
from .self_attention import SelfAttentionBlock
from .spectral_norm import SNLayers


class Stage(NamedTuple):
    """One row of an architecture table."""
    width: int  # output channels of the block, as a multiple of base_channels
    resample: bool  # the block doubles (G) or halves (D) the resolution


def table_rows(architecture: Optional[Sequence[Sequence]], tables: Dict[int, Tuple[Stage, ...]], scale: int,
               scale_name: str) -> Tuple[Stage, ...]:
    """The rows of a network: ``architecture`` if given (``[width, resample]`` pairs), else its table for
    ``scale``."""
    if architecture is None:
        if scale not in tables:
            raise ValueError(f'{scale_name} must be one of {sorted(tables)}, got {scale} (or give '
                             'architecture=[[width, resample], ...])')
        return tables[scale]
    try:
        return tuple(Stage(int(width), bool(resample)) for width, resample in architecture)
    except (TypeError, ValueError) as err:
        raise ValueError(f'architecture must be a list of [width multiplier, resample] pairs, got '
                         f'{architecture!r}') from err


class BlockPlan(NamedTuple):
    """One residual block as built: its widths, whether it resamples, its output resolution."""
    in_channels: int
    out_channels: int
    resample: bool
    resolution: int


def plan_blocks(stages: Sequence[Stage], base_channels: int, channels: Optional[Sequence[int]],
                in_channels: int, resolution: int, factor: float) -> List[BlockPlan]:
    """The blocks of a table: ``channels`` (one per stage) overrides ``width × base_channels``.

    Args:
        stages: the table rows, one per block.
        base_channels: the width unit.
        channels: explicit output widths, one per row; None uses the table.
        in_channels: channels entering the first block.
        resolution: resolution entering the first block.
        factor: resolution change of a resampling block (2 for G, 1/2 for D).
    """
    if channels is None:
        channels = [s.width * base_channels for s in stages]
    elif len(channels) != len(stages):
        raise ValueError(f'channels needs {len(stages)} entries (one per block), got {len(channels)}')
    plans = []
    for stage, c_out in zip(stages, channels):
        resolution = int(resolution * factor) if stage.resample else resolution
        plans.append(BlockPlan(in_channels, c_out, stage.resample, resolution))
        in_channels = c_out
    return plans


def check_label(label: Optional[Tensor],
                num_classes: int,
                batch_size: int,
                allow_weights: bool = False) -> Optional[Tensor]:
    """Shape and dtype of the class labels of a network with ``num_classes`` classes; None if unconditional.

    Class indices may come as shape ``(B,)`` or ``(B, 1)``: mmagic's ``PackInputs`` and its GAN models
    hand ``(B, 1)``, which its own networks accept, so ours do too (a view, no copy). ``allow_weights`` also
    accepts float B×K class weights (the generator mixes class embeddings with them).

    Only what needs no look at the values (no host-device sync, no graph break under ``torch.compile``): the
    range of real labels is checked once where they enter (``SAGAN.data_sample_to_label``, the sampling API).
    Unconditional networks ignore any label they are given, so datasets that carry labels still work.
    """
    if num_classes == 0:
        return None
    if label is None:
        raise ValueError(f'num_classes={num_classes}: a label tensor of shape ({batch_size},) is required')
    if allow_weights and label.is_floating_point() and label.shape == (batch_size, num_classes):
        return label
    if label.shape == (batch_size, 1) and label.dtype == torch.long:
        label = label.view(batch_size)
    if label.shape != (batch_size, ) or label.dtype != torch.long:
        weights = f' (or float class weights of shape ({batch_size}, {num_classes}))' if allow_weights else ''
        raise ValueError(f'expected label of shape ({batch_size},) or ({batch_size}, 1) and dtype torch.int64'
                         f'{weights}, got shape {tuple(label.shape)} and dtype {label.dtype}')
    return label


def check_label_range(label: Tensor, num_classes: int, what: str = 'label') -> None:
    """Raise a ValueError naming the first class id outside [0, num_classes) (reads the values: a sync)."""
    bad = label[(label < 0) | (label >= num_classes)]
    if bad.numel():
        raise ValueError(f'{what} {bad[0].item()} is outside [0, {num_classes}): the model has '
                         f'{num_classes} classes')


# Orthogonal is BigGAN's init; xavier (Glorot uniform) is what BigGAN-PyTorch's SA-GAN launch script uses.
_INITS: Dict[str, Callable] = {'ortho': nn.init.orthogonal_, 'xavier': nn.init.xavier_uniform_}


def initialise_weights(model: nn.Module, init_type: str = 'ortho') -> None:
    """Initialise every conv / linear / embedding weight of ``model`` in place.

    Under the SN hook the trainable tensor is ``weight_orig`` (``weight`` is recomputed from it on each
    forward), so that is the one initialised. Biases keep PyTorch's defaults, as in BigGAN-PyTorch.
    """
    if init_type not in _INITS:
        raise ValueError(f'init_type must be one of {sorted(_INITS)}, got {init_type!r}')
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.Embedding)):
            _INITS[init_type](getattr(module, 'weight_orig', module.weight))


def _attention_block(channels: int, variant: str, k: int, sn: SNLayers) -> nn.Module:
    """A self-attention block, or (``variant='residual'``) the residual control matched to its parameters."""
    if variant not in ('paper', 'pooled', 'residual'):
        raise ValueError(f"attention_variant must be one of ('paper', 'pooled', 'residual'), got {variant!r}")
    if variant != 'residual':
        return SelfAttentionBlock(channels, variant, k, sn=sn.enabled, sn_eps=sn.eps)
    attention_params = 4 * channels * (channels // k)  # f, g, h: C -> C/k; v: C/k -> C (paper form)
    return ResidualControl(channels, max(1, round(attention_params / (18 * channels))), sn)


class ResidualNetwork(nn.Module):
    """A stack of residual blocks with a :class:`SelfAttentionBlock` after the first block whose output
    resolution is in ``attention_at``; G and D differ only in their ends.

    Attention modules live in ``self.attention`` keyed by resolution (``'64'``), so state-dict names do not
    shift when attention moves, and ``generator.64`` / ``discriminator.64`` name a layer in the tools.

    Args:
        plans: the blocks, from :func:`plan_blocks`.
        make_block: ``make_block(index, plan)`` builds block ``index``; blocks are called as
            ``block(h, label)``.
        attention_at: resolutions after whose (first) block a self-attention block sits.
        attention_variant: ``'paper'`` or ``'pooled'`` (see :class:`SelfAttentionBlock`), or ``'residual'``:
            the paper's control, a local residual block with the parameters of a ``'paper'`` attention block
            (:class:`~.layers.ResidualControl`).
        attention_k: channel reduction k of the attention's queries and keys.
        sn: the network's SN layer factory (the attention convs are SN'd too).
        with_cp: checkpoint every block and attention block (:mod:`.checkpointing`): less memory, one more
            forward of them per backward.
    """

    def __init__(self,
                 plans: Sequence[BlockPlan],
                 make_block: Callable[[int, BlockPlan], nn.Module],
                 attention_at: Sequence[int],
                 attention_variant: str,
                 attention_k: int,
                 sn: SNLayers,
                 with_cp: bool = False) -> None:
        super().__init__()
        self.with_cp = with_cp
        resolutions = [p.resolution for p in plans]
        unknown = set(attention_at) - set(resolutions)
        if unknown:
            raise ValueError(f'attention_at {sorted(unknown)} not in this network; '
                             f'valid resolutions: {sorted(set(resolutions))}')
        self.plans = list(plans)
        self.blocks = nn.ModuleList(make_block(i, plan) for i, plan in enumerate(plans))
        # Per block: the attention key after it, or None; only the first block at a resolution gets one.
        self.attention_after = [
            str(r) if r in attention_at and r not in resolutions[:i] else None
            for i, r in enumerate(resolutions)
        ]
        self.attention = nn.ModuleDict({
            key:
            _attention_block(plan.out_channels, attention_variant, attention_k, sn)
            for key, plan in zip(self.attention_after, plans) if key is not None
        })

    def trunk(self, h: Tensor, label: Optional[Tensor]) -> Tensor:
        """Run the blocks (and attention after the chosen ones) on ``h``."""
        for block, key in zip(self.blocks, self.attention_after):
            h = self._run(block, h, label)
            if key is not None:
                h = self._run(self.attention[key], h)
        return h

    def _run(self, module: nn.Module, *args) -> Tensor:
        return checkpoint(module, *args) if self.with_cp else module(*args)
