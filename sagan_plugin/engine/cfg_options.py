"""``--cfg-options`` as users type it: paths kept whole, and an override of a hook the config lacks named."""
import argparse

from mmengine.config import Config, DictAction

# Keys whose value is a path (a dataset's root, list, prefix; a checkpoint; a folder), never a list or number.
PATH_KEYS = ('data_root', 'ann_file', 'data_prefix', 'load_from', 'work_dir', 'out_dir')


class CfgOptionsAction(DictAction):
    """MMEngine's ``DictAction``, except that a value is taken verbatim (outer quotes removed) where MMEngine
    would change what the user typed into a string:

    * it removes every space of a value (``data_root="/data/my images"`` becomes ``/data/myimages``, a folder
      that does not exist), so a value with spaces that parses to a string is kept as typed;
    * it splits a value at commas into a list and reads digits as a number, so a key in ``PATH_KEYS`` keeps
      its text (``data_root=/data/imagenet,v2``), except ``None``.

    Lists, tuples, numbers and booleans parse as in MMEngine (``channels=(32, 16)``, ``max_iters=10``).
    """

    def __call__(self, parser, namespace, values, option_string=None):
        options = dict(getattr(namespace, self.dest, None) or {})
        for item in values or []:
            key, sep, raw = item.partition('=')
            if not sep:
                parser.error(f'{option_string} {item}: expected KEY=VALUE')
            options[key] = parse_value(key, raw)
        setattr(namespace, self.dest, options)


def parse_value(key: str, raw: str):
    """The value of ``--cfg-options KEY=RAW`` (see :class:`CfgOptionsAction`)."""
    text = raw.strip('\'"')
    if key.rsplit('.', 1)[-1] in PATH_KEYS and text != 'None':
        return text  # before MMEngine's parser, which also asserts that brackets balance
    parsed = _mmengine_value(raw)
    if isinstance(parsed, str) and parsed != text:  # MMEngine took the spaces out
        return text
    return parsed


def _mmengine_value(raw: str):
    """What MMEngine's ``DictAction`` makes of ``KEY=RAW``, through its public ``__call__``."""
    namespace = argparse.Namespace()
    DictAction(option_strings=['--cfg-options'], dest='options')(None, namespace, [f'key={raw}'])
    return namespace.options['key']


def check_hook_overrides(cfg: Config, options: dict) -> None:
    """After the merge: a ``default_hooks`` entry without ``type`` comes from an override of a hook the config
    does not have (``default_hooks.visualization.interval=5``); MMEngine would fail at build with ``KeyError:
    'must contain the key "type"'`` naming neither the option nor the hooks there are."""
    for name, hook in (cfg.get('default_hooks') or {}).items():
        if isinstance(hook, dict) and 'type' not in hook:
            given = ' '.join(f'{key}={value}' for key, value in options.items()
                             if key.startswith(f'default_hooks.{name}.')) or f'default_hooks.{name}'
            raise KeyError(f'--cfg-options {given}: the config has no hook {name!r}; {_hooks_there(cfg)}. '
                           f'A new hook needs its type: default_hooks.{name}.type=...')


def check_custom_hook_index(cfg: Config, options: dict) -> None:
    """Before the merge: ``custom_hooks.N.key=...`` must name a hook the list has (MMEngine's error is
    ``Index N exceeds the length of list`` followed by the whole list)."""
    hooks = cfg.get('custom_hooks') or []
    for key, value in options.items():
        parts = key.split('.')
        known = len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(hooks)
        if parts[0] == 'custom_hooks' and len(parts) > 2 and not known:
            raise KeyError(f'--cfg-options {key}={value}: the config has no custom hook {parts[1]!r}; '
                           f'{_hooks_there(cfg)}; name a custom hook by its index, e.g. custom_hooks.0.'
                           f'{parts[-1]}=...')


def _hooks_there(cfg: Config) -> str:
    """'its default_hooks are: timer, logger, ... (custom_hooks: 0: VisualizationHook, ...)'."""
    default = [name for name, hook in (cfg.get('default_hooks') or {}).items() if hook and 'type' in hook]
    custom = [hook.get('type') for hook in cfg.get('custom_hooks') or []]
    listed = ', '.join(f'{i}: {name}' for i, name in enumerate(custom)) or 'none'
    return f'its default_hooks are: {", ".join(default) or "none"} (custom_hooks: {listed})'
