"""mmagic 1.2's SAGAN (``SNGANGenerator`` / ``ProjDiscriminator``, torch-style SN) into ours.

Our networks reproduce mmagic's architectures through config options (``configs/sagan_mmagic_*.py``): the
channel tables, attention after the same block, the pooled attention variant, BatchNorm ε 1e-4, SN ε 1e-12.
mmagic lists blocks and attention in one ``conv_blocks`` list (D: the first block is ``from_rgb``); we keep
``blocks`` and ``attention`` keyed by resolution, so the converter walks both in forward order. Two shortcut
orders differ from mmagic's but are the same function (see ``models/layers.py``). Not supported (a
ConversionError lists their keys): ajbrock-style SN (``u0``/``sv0``, mmagic's default for D attention placed
after any block but ``from_rgb``) and mmagic's 'sagan'/'sngan' init variant of conditional BN without the
``1 +`` on the gain (its checkpoints convert, but compute another function).
"""
from typing import Dict, List, Tuple

from torch import Tensor, nn

from .convert import Rule, convert_model, ema_keys, forward_order, sequence_keys

_CONV = [('conv1.', 'conv_1.conv.', None), ('conv2.', 'conv_2.conv.', None),
         ('shortcut.', 'shortcut.conv.', None)]
UP_BLOCK: List[Rule] = _CONV + [(f'bn{i}.{ours}.', f'norm_{i}.{theirs}.', None) for i in (1, 2)
                                for ours, theirs in (('bn', 'norm'), ('gain', 'weight_embedding'),
                                                     ('bias', 'bias_embedding'))]
DOWN_BLOCK: List[Rule] = _CONV
ATTENTION: List[Rule] = [('query.', 'theta.conv.', None), ('key.', 'phi.conv.', None),
                         ('value.', 'g.conv.', None), ('out.', 'o.conv.', None), ('gamma', 'gamma', None)]
GENERATOR_TOP: List[Rule] = [('linear.', 'noise2feat.', None), ('output_bn.', 'to_rgb.bn.', None),
                             ('output_conv.', 'to_rgb.conv.', None)]
DISCRIMINATOR_TOP: List[Rule] = [('linear.', 'decision.', None), ('embedding.', 'proj_y.', None)]


def _module_rules(block_rules: List[Rule]):
    return lambda prefix: ATTENTION if prefix.startswith('attention.') else block_rules


def generator_keys(generator: nn.Module):
    """Our generator key → mmagic ``SNGANGenerator`` key (``conv_blocks.k`` in forward order)."""
    prefixes = {ours: f'conv_blocks.{k}' for k, ours in enumerate(forward_order(generator))}
    return sequence_keys(prefixes, _module_rules(UP_BLOCK), GENERATOR_TOP)


def discriminator_keys(discriminator: nn.Module):
    """Our discriminator key → mmagic ``ProjDiscriminator`` key (``from_rgb``, then ``conv_blocks.k``)."""
    order = forward_order(discriminator)
    prefixes = {order[0]: 'from_rgb', **{ours: f'conv_blocks.{k}' for k, ours in enumerate(order[1:])}}
    return sequence_keys(prefixes, _module_rules(DOWN_BLOCK), DISCRIMINATOR_TOP)


def convert_mmagic(checkpoints: List[dict], model: nn.Module,
                   what: str) -> Tuple[Dict[str, Tensor], List[str]]:
    """Our model's state dict from an mmagic SAGAN checkpoint (``state_dict`` with ``generator.``,
    ``discriminator.`` and ``generator_ema.`` prefixes, as mmagic's runner and publish tool write it)."""
    if len(checkpoints) != 1:
        raise ValueError(f'an mmagic checkpoint is one file holding every network, got {len(checkpoints)}')
    state = checkpoints[0].get('state_dict', checkpoints[0])
    g_keys = generator_keys(model.generator)
    networks = [('generator', 'generator', g_keys),
                ('discriminator', 'discriminator', discriminator_keys(model.discriminator)),
                ('generator_ema', 'generator_ema', ema_keys(g_keys))]
    return convert_model(model, state, networks, what)
