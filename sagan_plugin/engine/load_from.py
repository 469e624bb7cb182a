"""``load_from``: a checkpoint's weights start a new run, strictly unless told by name what may differ.

MMEngine loads ``load_from`` with ``strict=False``: a file of another model (or ``{'foo': 1}``) leaves every
weight at random with only warnings in the log. Here every key of the model must be in the checkpoint with
its shape, and every key of the checkpoint must be in the model, except what the config's
``load_from_partial`` names::

    load_from = 'work_dirs/cifar10/iter_100000.pth'
    load_from_partial = dict(allow=['class_embeddings'])  # fine-tuning to another number of classes

``allow`` holds group names (``class_embeddings``: the generator's conditional-BN embeddings and the
discriminator's projection embedding) or ``fnmatch`` patterns of state-dict keys (``'discriminator.*'``).
Allowed keys that are missing or mis-shaped keep the model's fresh initialisation, allowed unexpected keys
are ignored, and the log names them all.
"""
import logging
from fnmatch import fnmatch
from typing import Dict, Iterator, List, Optional, Tuple

from mmengine.logging import print_log
from mmengine.runner.checkpoint import get_state_dict
from torch import Tensor, nn

from sagan_plugin.models.sampling import unwrap

PARTIAL_KEY = 'load_from_partial'
GROUPS = {'class_embeddings': 'the class embeddings (conditional BN of G, projection of D)'}
_HINT = (f"To start from it anyway, name what may differ (it keeps its fresh initialisation), e.g. "
         f"{PARTIAL_KEY} = dict(allow=['class_embeddings']) for another number of classes, or key patterns "
         "such as 'discriminator.*'")


def fit_load_from(state: Dict, model: nn.Module, path: str, partial: Optional[dict]) -> None:
    """Check ``state`` (a ``load_from`` checkpoint's state_dict) against ``model`` and make it load exactly.

    Raises a ValueError listing the differences that ``partial`` does not allow (per kind: the count and
    the first 10 keys). Allowed differences are resolved in ``state`` itself: missing and mis-shaped keys
    get the model's current (freshly initialised) values, unexpected ones are removed. Without EMA weights
    in the checkpoint, an EMA generator starts as a copy of the loaded generator (as mmagic's does until
    ``start_iter``).
    """
    if not isinstance(state, dict):
        raise ValueError(f'load_from {path} holds a {type(state).__name__}, not a state dict')
    current = get_state_dict(model)
    _ema_from_generator(state, current, path)
    allowed = _allowed(partial, model, current)
    missing, unexpected, misshaped = differences(state, current)
    problems = {
        'missing in the checkpoint': [k for k in missing if not _counter(k) and not allowed(k)],
        'not in the model': [k for k in unexpected if not allowed(k)],
        'other shapes': [
            f'{k}: checkpoint {value_shape(state[k])} vs model {tuple(current[k].shape)}' for k in misshaped
            if not allowed(k)
        ]
    }
    _refuse(problems, path)
    for key in missing + misshaped:
        state[key] = current[key].clone()
    for key in unexpected:
        del state[key]
    _log_partial([k for k in missing + misshaped if not _counter(k)], unexpected, path)


def differences(saved: Dict, current: Dict[str, Tensor]) -> Tuple[List[str], List[str], List[str]]:
    """Keys of ``current`` missing from ``saved``, keys of ``saved`` not in ``current``, and keys whose
    shapes differ (a non-tensor value in ``saved`` counts as another shape)."""
    missing = [k for k in current if k not in saved]
    unexpected = [k for k in saved if k not in current]
    misshaped = [k for k in current if k in saved and value_shape(saved[k]) != tuple(current[k].shape)]
    return missing, unexpected, misshaped


def _refuse(problems: Dict[str, List[str]], path: str) -> None:
    """Raise a ValueError listing the first 10 keys of each kind of difference and their counts."""
    count = sum(len(keys) for keys in problems.values())
    if count:
        lines = [
            f'  {len(keys)} {what}:\n    ' + listing(keys, 10, '\n    ') for what, keys in problems.items()
            if keys
        ]
        raise ValueError(f'load_from {path} does not fit this model ({count} differences; was it saved with '
                         'another config?):\n' + '\n'.join(lines) + '\n' + _HINT)


def _log_partial(fresh: List[str], ignored: List[str], path: str) -> None:
    """Name (by module) what keeps its fresh initialisation and what of the checkpoint is ignored."""
    parts = [f'{len(fresh)} tensors keep their fresh initialisation, in {_modules(fresh)}'] if fresh else []
    parts += [f'{len(ignored)} checkpoint tensors are ignored, in {_modules(ignored)}'] if ignored else []
    if parts:
        print_log(f'load_from {path} ({PARTIAL_KEY}): ' + '; '.join(parts), 'current', logging.WARNING)


def _allowed(partial: Optional[dict], model: nn.Module, current: Dict[str, Tensor]):
    """A predicate: may this key differ? From ``load_from_partial`` (checked: a typo is an error)."""
    if partial is None:
        return lambda key: False
    if not isinstance(partial, dict) or set(partial) != {'allow'} or isinstance(partial['allow'], str):
        raise ValueError(f"{PARTIAL_KEY} must be dict(allow=[...]) with a list of group names "
                         f'{sorted(GROUPS)} or key patterns, got {partial!r}')
    patterns = []
    for entry in partial['allow']:
        group = [f'{prefix}*' for prefix in _embedding_prefixes(model)] if entry in GROUPS else [str(entry)]
        if not any(fnmatch(key, p) for key in current for p in group):
            raise ValueError(f'{PARTIAL_KEY}: {entry!r} matches no key of this model; give one of the groups '
                             f'{sorted(GROUPS)} or a pattern of state-dict keys such as \'discriminator.*\'')
        patterns += group
    return lambda key: any(fnmatch(key, p) for p in patterns)


def _embedding_prefixes(module: nn.Module, prefix: str = '') -> Iterator[str]:
    """State-dict key prefixes (``'discriminator.embedding.'``) of the model's ``nn.Embedding`` layers,
    through DDP wrappers as :func:`get_state_dict` goes through them. Only class embeddings are one."""
    module = unwrap(module)
    for name, child in module.named_children():
        if isinstance(child, nn.Embedding):
            yield f'{prefix}{name}.'
        else:
            yield from _embedding_prefixes(child, f'{prefix}{name}.')


def _ema_from_generator(state: Dict, current: Dict[str, Tensor], path: str) -> None:
    """Fill ``generator_ema.module.*`` from ``generator.*`` when the checkpoint has no EMA weights at all."""
    ema = [k for k in current if k.startswith('generator_ema.module.')]
    if not ema or any(k.startswith('generator_ema.') for k in state):
        return
    source = {k: 'generator.' + k[len('generator_ema.module.'):] for k in ema}
    if all(s in state for s in source.values()):
        state.update({k: state[s] for k, s in source.items()})
        # the wrapper's bookkeeping (its update count) starts afresh
        state.update({
            k: v.clone()
            for k, v in current.items() if k.startswith('generator_ema.') and k not in state
        })
        print_log(
            f'load_from {path} has no EMA generator weights; generator_ema starts as a copy of its '
            'generator', 'current', logging.WARNING)


def _modules(keys: List[str]) -> str:
    """The modules (or top-level names) holding ``keys``, each once, all of them: what the log names."""
    return ', '.join(dict.fromkeys(k.rsplit('.', 1)[0] for k in keys))


def value_shape(value) -> tuple:
    """A state-dict value's shape; a non-tensor by its type name, so it never matches a tensor's."""
    return tuple(value.shape) if isinstance(value, Tensor) else (type(value).__name__, )


def _counter(key: str) -> bool:
    """BatchNorm's update counter: older and converted checkpoints may lack it; outputs do not use it."""
    return key.endswith('num_batches_tracked')


def listing(keys: List[str], limit: int = 20, sep: str = ', ') -> str:
    """The first ``limit`` keys joined by ``sep``, then how many more: what every key-listing error shows."""
    return sep.join(keys[:limit] + ([f'... and {len(keys) - limit} more'] if len(keys) > limit else []))
