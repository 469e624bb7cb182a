"""Build a SAGAN from a config and a checkpoint for sampling and attention maps (cf. mmagic.apis.init_model).

Only the generator is required in the checkpoint: converted checkpoints may carry no discriminator. The
EMA generator is used when the checkpoint holds one (``generator_ema.module.*``), whatever the config says.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from torch import Tensor, nn

from sagan_plugin.engine.checkpoint_files import read_checkpoint
from sagan_plugin.engine.load_from import differences, listing, value_shape
from sagan_plugin.models.network import check_label_range
from sagan_plugin.registry import DATASETS, MODELS

PARTS = ('generator', 'generator_ema', 'discriminator')
# Bookkeeping of mmagic's EMA wrapper (its update count): not a weight, not needed to sample.
_EMA_BOOKKEEPING = ('generator_ema.steps', )


def read_state_dict(path: str) -> Tuple[Dict[str, Dict[str, Tensor]], dict]:
    """The weights of a runner (or converted) checkpoint split by network, and its ``meta``.

    Args:
        path: a checkpoint whose ``state_dict`` (or top level) has ``generator.*`` keys and optionally
            ``generator_ema.module.*`` and ``discriminator.*``.

    Returns:
        ``({'generator': {...}, 'generator_ema': {...}, ...}, meta)``; the keys of each part are relative to
        that network. Any other key is an error listing the keys.
    """
    checkpoint = read_checkpoint(path)  # archive CRC, plain weights only, every tensor finite
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'checkpoint {path} holds no state_dict (got {type(checkpoint).__name__})')
    parts = _split_by_network(state, path)
    meta = checkpoint.get('meta', {}) if 'state_dict' in checkpoint else {}
    return parts, meta or {}


def _split_by_network(state: Dict[str, Tensor], path: str) -> Dict[str, Dict[str, Tensor]]:
    """``state`` split by the network prefix of its keys (``read_state_dict``'s first return value)."""
    prefixes = {
        'generator_ema': 'generator_ema.module.',
        'generator': 'generator.',
        'discriminator': 'discriminator.'
    }
    parts: Dict[str, Dict[str, Tensor]] = {}
    unknown = []
    for key, value in state.items():
        part = next((p for p, prefix in prefixes.items() if key.startswith(prefix)), None)
        if part is not None:
            parts.setdefault(part, {})[key[len(prefixes[part]):]] = value
        elif key not in _EMA_BOOKKEEPING:
            unknown.append(key)
    if unknown:
        raise ValueError(f'checkpoint {path}: keys outside {", ".join(p + "*" for p in prefixes.values())}: '
                         f'{listing(unknown, limit=12)}')
    if 'generator' not in parts:
        raise ValueError(
            f'checkpoint {path} has no generator.* weights (keys: {listing(list(state), limit=12)})')
    return parts


def load_weights(module: nn.Module, weights: Dict[str, Tensor], what: str) -> None:
    """Load ``weights`` into ``module`` exactly: missing, unexpected and mis-shaped keys are one error.

    Args:
        module: the network built from the config.
        weights: its state dict from the checkpoint (keys relative to ``module``).
        what: names the checkpoint and the network in the error, e.g. ``'ckpt.pth: generator'``.
    """
    expected = module.state_dict()
    missing, unexpected, misshaped = differences(weights, expected)
    # BatchNorm's update counter: older and converted checkpoints may lack it; it does not affect outputs.
    missing = [k for k in missing if not k.endswith('num_batches_tracked')]
    shapes = [
        f'{k}: checkpoint {value_shape(weights[k])} vs model {tuple(expected[k].shape)}' for k in misshaped
    ]
    problems = [(name, keys) for name, keys in (('missing keys', missing), ('unexpected keys', unexpected),
                                                ('shape mismatches', shapes)) if keys]
    if problems:
        details = '; '.join(f'{name}: {listing(keys, limit=12)}' for name, keys in problems)
        raise ValueError(f'{what} weights do not fit the network the config builds ({details}); a checkpoint '
                         'of mmagic or StudioGAN needs tools/convert_checkpoint.py first')
    module.load_state_dict(weights, strict=False)


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu') -> nn.Module:
    """The config's SAGAN with the checkpoint's weights, in eval mode on ``device``.

    Args:
        config: a config file or :class:`Config` whose ``model`` is a SAGAN.
        checkpoint: a runner or converted checkpoint (see :func:`read_state_dict`); None keeps random weights.
        device: where the model runs.

    Returns:
        The model, with ``cfg`` (the config), ``dataset_meta`` (from the checkpoint's meta, may be empty) and
        ``checkpoint_parts`` (the networks the checkpoint held) set. It has an EMA generator exactly when the
        checkpoint held one.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    init_default_scope(cfg.get('default_scope', 'sagan_plugin'))
    parts, meta = read_state_dict(checkpoint) if checkpoint else ({}, {})
    if checkpoint:
        # An EMA wrapper only where there are EMA weights, so "uses EMA" means "the checkpoint had EMA".
        has_ema = 'generator_ema' in parts
        cfg.model.ema_config = (cfg.model.get('ema_config') or dict(type='sagan_plugin.DecayEMA')) \
            if has_ema else None
    model = MODELS.build(cfg.model)
    for part, weights in parts.items():
        target = model.generator_ema.module if part == 'generator_ema' else getattr(model, part)
        load_weights(target, weights, f'checkpoint {checkpoint}: {part}')
    model.cfg, model.dataset_meta = cfg, dict(meta.get('dataset_meta') or {})
    model.checkpoint_parts = frozenset(parts) if checkpoint else frozenset(PARTS)
    return model.to(device).eval()


def class_names(model: nn.Module) -> Optional[List[str]]:
    """Names of the model's classes: the checkpoint's ``dataset_meta``, else the config's train dataset's
    ``metainfo``/``METAINFO``; None when unconditional or when neither has names for every class."""
    if not model.num_classes:
        return None
    names = getattr(model, 'dataset_meta', {}).get('classes')
    cfg = getattr(model, 'cfg', None)
    if names is None and cfg is not None and cfg.get('train_dataloader'):
        dataset = cfg.train_dataloader.dataset
        names = (dataset.get('metainfo') or {}).get('classes')
        dataset_class = DATASETS.get(dataset.type) if names is None else None
        names = names or getattr(dataset_class, 'METAINFO', {}).get('classes')
    if names is not None and len(names) != model.num_classes:
        print_log(
            f'the dataset names {len(names)} classes but the model has {model.num_classes}; '
            'labelling classes by id',
            logger='current',
            level=30)
        return None
    return list(names) if names is not None else None


def parse_classes(model: nn.Module, classes: Optional[Sequence[Union[int, str]]]) -> Optional[Tensor]:
    """Class ids (LongTensor) from ids or names; all classes when None; None for an unconditional model.

    Args:
        model: the SAGAN.
        classes: class ids (ints or digit strings) or class names (case-insensitive).
    """
    if not model.num_classes:
        if classes:
            raise ValueError(f'classes {list(classes)} given, but the model is unconditional (num_classes=0)')
        return None
    if classes is None:
        return torch.arange(model.num_classes)
    names = [n.lower() for n in class_names(model) or []]
    ids = []
    for c in classes:
        if isinstance(c, int) or str(c).lstrip('-').isdigit():
            ids.append(int(c))
        elif str(c).lower() in names:
            ids.append(names.index(str(c).lower()))
        else:
            raise ValueError(f'class {c!r} is neither an id nor one of the class names {class_names(model)}')
    label = torch.tensor(ids, dtype=torch.long)
    check_label_range(label, model.num_classes, 'class')
    return label
