"""The rename engine shared by the converters: our key → the peer's key, checked both ways."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from torch import Tensor, nn

from sagan_plugin.compat import history_buffer_methods_kept
from sagan_plugin.engine.checkpoint_files import read_checkpoint
from sagan_plugin.models.network import ResidualNetwork

Transform = Optional[Callable[[Tensor], Tensor]]
# (prefix of our key, the peer's prefix that replaces it, exact value transform or None)
Rule = Tuple[str, str, Transform]
PeerKeys = Callable[[str], List[Tuple[str, Transform]]]


class ConversionError(ValueError):
    """A peer checkpoint does not fit the network it is converted into; the message lists the keys."""


def rename(key: str, rules: Sequence[Rule]) -> List[Tuple[str, Transform]]:
    """Candidate peer keys for ``key``, one per rule whose prefix matches (the first present one wins)."""
    return [(theirs + key[len(ours):], transform) for ours, theirs, transform in rules
            if key.startswith(ours)]


def forward_order(net: ResidualNetwork) -> List[str]:
    """Our block and attention module names in forward order (``blocks.0``, ``attention.16``, ``blocks.1``,
    ...), the order in which mmagic and StudioGAN number the same modules in one list."""
    order = []
    for i, key in enumerate(net.attention_after):
        order.append(f'blocks.{i}')
        if key is not None:
            order.append(f'attention.{key}')
    return order


def sequence_keys(prefixes: Dict[str, str], module_rules: Callable[[str], Sequence[Rule]],
                  top_rules: Sequence[Rule]) -> PeerKeys:
    """A :data:`PeerKeys` for a network whose modules are renamed as a whole (``prefixes``: ours → theirs)
    and then inside (``module_rules(our_prefix)``); keys outside those modules use ``top_rules``."""

    def peer_keys(key: str) -> List[Tuple[str, Transform]]:
        for ours, theirs in prefixes.items():
            if key.startswith(ours + '.'):
                return [(f'{theirs}.{k}', t) for k, t in rename(key[len(ours) + 1:], module_rules(ours))]
        return rename(key, top_rules)

    return peer_keys


def convert_network(net: nn.Module, peer: Dict[str, Tensor], peer_keys: PeerKeys,
                    what: str) -> Dict[str, Tensor]:
    """``net``'s state dict filled from ``peer`` (one network's tensors, prefix removed).

    Raises:
        ConversionError: listing our keys with no peer key, peer keys nothing used, and shape mismatches.
    """
    converted, used, missing, misshaped = {}, set(), [], []
    for key, target in net.state_dict().items():
        candidates = peer_keys(key)
        found = [(k, t) for k, t in candidates if k in peer]
        if not found:
            missing.append(f'{key} (from {" or ".join(k for k, _ in candidates) or "no rule"})')
            continue
        peer_key, transform = found[0]
        value = peer[peer_key] if transform is None else transform(peer[peer_key])
        used.add(peer_key)
        if value.shape != target.shape:
            misshaped.append(f'{peer_key} {tuple(value.shape)} -> {key} {tuple(target.shape)}')
            continue
        converted[key] = value.to(target.dtype)
    unknown = sorted(set(peer) - used)
    problems = [(f'{len(missing)} missing', missing), (f'{len(unknown)} unknown', unknown),
                (f'{len(misshaped)} with other shapes', misshaped)]
    if missing or unknown or misshaped:
        lines = [f'  {title}:\n' + '\n'.join(f'    {k}' for k in keys) for title, keys in problems if keys]
        raise ConversionError(f'{what} does not fit the network of the given config:\n' + '\n'.join(lines) +
                              '\nCheck that --config reproduces the checkpoint\'s architecture '
                              '(resolution, channels, attention position, num_classes).')
    return converted


def ema_keys(generator_keys: PeerKeys) -> PeerKeys:
    """Keys of an EMA wrapper (MMEngine's ``BaseAveragedModel``): ``module.*`` is a generator."""

    def peer_keys(key: str) -> List[Tuple[str, Transform]]:
        if key.startswith('module.'):
            return [('module.' + k, t) for k, t in generator_keys(key[len('module.'):])]
        return [(key, None)]

    return peer_keys


def convert_model(model: nn.Module, peer: Dict[str, Tensor], networks: Sequence[Tuple[str, str, PeerKeys]],
                  what: str) -> Tuple[Dict[str, Tensor], List[str]]:
    """A state dict for ``model`` (a SAGAN) from a peer's checkpoint holding one or more of its networks.

    Args:
        model: our model, built from the config that reproduces the peer's architecture.
        peer: the peer's tensors, each network under its prefix.
        networks: (our attribute, the peer's prefix, key map) per network that may be in the checkpoint.
        what: the checkpoint, for messages.

    Returns:
        (state dict with our prefixes, our networks found). A network absent from the checkpoint is left out
        (and not listed); one present is converted completely or not at all; a peer key under no known
        network is an error.
    """
    state, found, claimed = {}, [], set()
    for ours, theirs, peer_keys in networks:
        part = split_prefix(peer, theirs)
        if not part or not hasattr(model, ours):
            continue
        claimed |= {f'{theirs}.{k}' for k in part}
        converted = convert_network(getattr(model, ours), part, peer_keys, f'{what} ({theirs})')
        state.update({f'{ours}.{k}': v for k, v in converted.items()})
        found.append(ours)
    unknown = sorted(set(peer) - claimed)
    if unknown:
        raise ConversionError(f'{what}: {len(unknown)} keys belong to no network of the config: '
                              f'{unknown[:20]}' + (' ...' if len(unknown) > 20 else ''))
    if not found:
        raise ConversionError(f'{what} holds none of {[theirs for _, theirs, _ in networks]}')
    return state, found


def _inert_getattr(obj, name, *default):
    """Stands in for ``builtins.getattr`` while a peer checkpoint is read: returns None, looks nothing up."""
    return None


def load_peer_checkpoint(path: str) -> dict:
    """A checkpoint file as a dict of tensors and plain values, checked as every checkpoint we read is
    (:func:`~sagan_plugin.engine.checkpoint_files.read_checkpoint`: archive CRC, ``weights_only=True`` so no
    code is run, finite weights).

    Checkpoints saved by a plain MMEngine runner, which mmagic publishes as they are, pickle their message
    hub's ``HistoryBuffer`` statistics methods through ``builtins.getattr``; the real ``getattr`` would let a
    crafted file reach any attribute, so while reading, that name resolves to :func:`_inert_getattr` (the
    message hub is not converted anyway). The runner checkpoint's numpy/HistoryBuffer types are allow-listed
    for good by ``sagan_plugin.engine``; they stay out of the context, whose exit would remove them again.

    Raises:
        FileNotFoundError: no such file.
        ConversionError: the file is damaged, not a checkpoint, holds other objects or non-finite weights.
    """
    # Unpickling a buffer writes its (inert) methods into the class-wide table; the running process's
    # message hub reads that table, so it is put back as it was.
    try:
        with history_buffer_methods_kept():
            checkpoint = read_checkpoint(path, safe_globals=[(_inert_getattr, 'builtins.getattr')])
    except FileNotFoundError:
        raise
    except ValueError as err:  # names the file and what is wrong with it
        raise ConversionError(str(err)) from None
    if not isinstance(checkpoint, dict):
        raise ConversionError(f'{path} holds a {type(checkpoint).__name__}, not a checkpoint dict')
    return checkpoint


def split_prefix(state: Dict[str, Tensor], prefix: str) -> Dict[str, Tensor]:
    """The entries of ``state`` under ``prefix.`` with the prefix removed."""
    return {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + '.')}
