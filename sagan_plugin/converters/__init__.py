"""Checkpoint converters: the peers' SAGAN weights into this plugin's networks, verified key by key.

A converter walks *our* network (built from a config that reproduces the peer's architecture) and, for every
tensor of our state dict, names the peer's key it comes from. Every key we need must be found with the right
shape, and every key of the peer's checkpoint must be used: anything unknown, missing or mis-shaped is a
:class:`ConversionError` listing the keys. Nothing is dropped or reshaped silently; the only value transforms
are exact ones a peer's layout needs (a transpose, a channel permutation), each named where it is defined.
"""
import os.path as osp
from typing import Dict, List, Sequence, Tuple

from torch import Tensor, nn

from .convert import ConversionError, load_peer_checkpoint
from .mmagic import convert_mmagic
from .studiogan import convert_studiogan

CONVERTERS = {'mmagic': convert_mmagic, 'studiogan': convert_studiogan}

__all__ = [
    'CONVERTERS', 'ConversionError', 'convert_checkpoint', 'convert_loaded', 'load_peer_checkpoint',
    'refuse_our_checkpoint'
]


def convert_checkpoint(peer: str, paths: Sequence[str],
                       model: nn.Module) -> Tuple[Dict[str, Tensor], List[str]]:
    """Read a peer's checkpoint file(s) and convert them for ``model`` (our SAGAN built from the config that
    reproduces the peer's architecture). Returns (our state dict, the networks found) and checks that the
    state dict loads into ``model`` strictly for those networks.

    Args:
        peer: ``'mmagic'`` (one runner or published checkpoint) or ``'studiogan'`` (G, D and/or G_ema files).
        paths: the checkpoint files.
        model: the target model.
    """
    if peer not in CONVERTERS:
        raise ValueError(f'unknown checkpoint source {peer!r}; known: {sorted(CONVERTERS)}')
    return convert_loaded(peer, paths, [load_peer_checkpoint(p) for p in paths], model)


def convert_loaded(peer: str, paths: Sequence[str], checkpoints: List[dict],
                   model: nn.Module) -> Tuple[Dict[str, Tensor], List[str]]:
    """:func:`convert_checkpoint` for checkpoints already read with :func:`load_peer_checkpoint`."""
    if peer not in CONVERTERS:
        raise ValueError(f'unknown checkpoint source {peer!r}; known: {sorted(CONVERTERS)}')
    # a bare state dict gets its 'state_dict' level, so that the name below is not taken for a weight
    checkpoints = [
        dict(c if 'state_dict' in c else dict(state_dict=c), name=osp.basename(p))
        for p, c in zip(paths, checkpoints)
    ]
    for path, checkpoint in zip(paths, checkpoints):
        refuse_our_checkpoint(checkpoint, path)
    state, found = CONVERTERS[peer](checkpoints, model, ', '.join(paths))
    missing, unexpected = model.load_state_dict(state, strict=False)
    left_out = [k for k in missing if k.split('.')[0] in found]
    if left_out or unexpected:  # the converter checks this already; a second look costs nothing
        raise ConversionError(f'converted state does not load: missing {left_out}, unexpected {unexpected}')
    return state, found


OUR_GENERATOR_PREFIXES = ('generator.linear.', 'generator.blocks.')  # names no peer's generator uses


def refuse_our_checkpoint(checkpoint: dict, path: str) -> None:
    """Raise a ConversionError if ``checkpoint`` is already in this plugin's layout: converted before
    (``meta.converted_from``), saved by a run of our configs (``meta.cfg`` names sagan_plugin), or holding
    our generator's key names (``generator.linear.*``, ``generator.blocks.*``; no peer uses them)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), dict) else {}
    state = checkpoint.get('state_dict', checkpoint)
    reason = None
    if 'converted_from' in meta:
        reason = f'it was converted from {meta["converted_from"]}'
    elif 'sagan_plugin' in str(meta.get('cfg', '')):
        reason = 'a run of a sagan_plugin config saved it'
    elif isinstance(state, dict) and any(str(k).startswith(OUR_GENERATOR_PREFIXES) for k in state):
        reason = 'it has our generator keys'
    if reason:
        raise ConversionError(f'{path} is already a sagan_plugin checkpoint ({reason}); use it directly '
                              '(tools/sample.py, tools/test.py, load_from): it needs no conversion')
