"""Convert a peer's SAGAN checkpoint (mmagic 1.2, PyTorch-StudioGAN) into this plugin's layout.

    # mmagic: our config is derived from mmagic's (a path or a model-zoo name; a runner checkpoint's own
    # meta.cfg when --peer-config is left out) and written beside the result as OUT.py
    python tools/convert_checkpoint.py --from mmagic IN.pth OUT.pth \\
        --peer-config sagan_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32
    python tools/sample.py OUT.py OUT.pth --out grid.png
    # StudioGAN: its G, D and/or G_ema files with our config of StudioGAN's SAGAN
    python tools/convert_checkpoint.py --from studiogan G.pth [D.pth] [G_ema.pth] OUT.pth \\
        --config configs/sagan_studiogan_imagenet128.py

``--config`` names a config of ours by hand; it is checked against mmagic's config (or, for StudioGAN, the
settings StudioGAN's code fixes) in every setting that changes the function but not the weights (BatchNorm
and SN ε, the discriminator's in-place ReLU shortcut, the output channel order, conditional BN's gain, the
EMA), and any difference is refused, naming each setting and both values. An mmagic checkpoint with no config
of its own and no --peer-config cannot be checked: it is refused unless --unverified is given.

Output: OUT.pth (``state_dict`` with our keys for every network the input had, ``meta`` with the sources, the
config's text and the settings checked) and OUT.py (the config used, self-contained). Unknown, missing or
mis-shaped keys are an error listing them; nothing is dropped. The input is checked as every checkpoint we
read is (archive CRC, plain weights only, finite values), and a checkpoint that is already ours is refused.
"""
import argparse
import copy
import os
import os.path as osp
import sys
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from sagan_plugin.converters import (ConversionError, convert_loaded, load_peer_checkpoint,
                                     refuse_our_checkpoint)
from sagan_plugin.converters.derived_config import config_text, derive_config
from sagan_plugin.converters.mmagic_config import config_from_meta, mmagic_settings, peer_config
from sagan_plugin.converters.settings import check_settings, our_settings, unverified_message
from sagan_plugin.converters.studiogan import STUDIOGAN_SETTINGS
from sagan_plugin.engine.cfg_options import CfgOptionsAction
from sagan_plugin.engine.checkpoint_files import verify_checkpoint
from sagan_plugin.registry import MODELS


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--from',
        dest='peer',
        required=True,
        choices=['mmagic', 'studiogan'],
        help='who wrote the checkpoint')
    parser.add_argument(
        'inputs', nargs='+', help='checkpoint file(s): mmagic one; StudioGAN G, D and/or G_ema')
    parser.add_argument('output', help='the converted checkpoint (OUT.pth); its config goes to OUT.py')
    parser.add_argument(
        '--peer-config',
        help="mmagic's config of the checkpoint: a file, or a name of mmagic's model zoo "
        '(default: the checkpoint\'s meta.cfg)')
    parser.add_argument('--config', help='a config of ours, checked against the peer\'s settings')
    parser.add_argument(
        '--unverified',
        action='store_true',
        help='convert an mmagic checkpoint that has no config with --config unchecked')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override values of our config, e.g. model.num_classes=0 for an unconditional model')
    args = parser.parse_args(argv)
    if args.peer == 'studiogan' and (args.peer_config or not args.config):
        parser.error('--from studiogan takes --config (configs/sagan_studiogan_*.py), not --peer-config')
    if args.output.endswith('.py'):
        parser.error(f'{args.output}: the output is a checkpoint; its config is written beside it as .py')
    return args


def peer_of(args: argparse.Namespace, checkpoint: dict) -> Optional[Tuple[dict, object, Config, str]]:
    """(settings, mmagic's model, mmagic's config, its name) from --peer-config or the checkpoint's meta.cfg;
    None when neither is there."""
    meta = checkpoint.get('meta') if isinstance(checkpoint.get('meta'), dict) else {}
    if args.peer_config:
        cfg, name = peer_config(args.peer_config)
    elif isinstance(meta.get('cfg'), str):
        cfg, name = config_from_meta(meta, args.inputs[0]), f'{args.inputs[0]} (its meta.cfg)'
    else:
        return None
    settings, model = mmagic_settings(cfg, name)
    return settings, model, cfg, name


def our_config(args: argparse.Namespace, peer) -> Config:
    """--config, or our config derived from the peer's; --cfg-options applied."""
    if args.config:
        cfg = Config.fromfile(args.config)
    elif peer is not None:
        cfg = derive_config(peer[0], peer[1], peer[2], peer[3])
    else:
        raise ConversionError('--unverified needs --config: there is nothing to derive our config from')
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def fast_init(model_cfg: dict) -> dict:
    """``model_cfg`` with Glorot init in our networks: the conversion overwrites every weight, and the
    orthogonal init's QR of wide layers costs about a minute of CPU at 128x128 (the written config keeps its
    own init_type, for training on)."""
    model_cfg = copy.deepcopy(model_cfg)
    for net in ('generator', 'discriminator'):
        if isinstance(model_cfg.get(net), dict) and 'type' in model_cfg[net]:
            model_cfg[net]['init_type'] = 'xavier'
    return model_cfg


def write(args: argparse.Namespace, state: dict, meta: dict, text: str) -> str:
    """OUT.pth and OUT.py, each written whole under a temporary name, then renamed (a killed conversion
    leaves neither half-written); returns OUT.py's path."""
    stem = osp.splitext(args.output)[0]
    config_path, tmp_config = stem + '.py', f'{stem}.tmp{os.getpid()}.py'
    tmp = f'{args.output}.tmp{os.getpid()}'
    os.makedirs(osp.dirname(osp.abspath(args.output)), exist_ok=True)
    torch.save(dict(state_dict=state, meta=dict(meta, config=osp.basename(config_path), cfg=text)), tmp)
    verify_checkpoint(tmp)  # read back as every tool will read it (archive CRC, finite weights)
    with open(tmp_config, 'w') as f:
        f.write(text)
    Config.fromfile(tmp_config)  # loads as tools/sample.py will load it
    os.replace(tmp_config, config_path)
    os.replace(tmp, args.output)
    return config_path


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    checkpoints = [load_peer_checkpoint(p) for p in args.inputs]
    for path, checkpoint in zip(args.inputs, checkpoints):  # before its meta.cfg is read as a peer's
        refuse_our_checkpoint(checkpoint, path)
    peer = peer_of(args, checkpoints[0]) if args.peer == 'mmagic' else None
    if args.peer == 'mmagic' and peer is None and not args.unverified:
        raise ConversionError(unverified_message(args.inputs[0]))
    cfg = our_config(args, peer)
    init_default_scope(cfg.get('default_scope', 'sagan_plugin'))
    model = MODELS.build(fast_init(cfg.model))
    config_name = args.config or 'the derived config'
    if peer is not None:
        check_settings(our_settings(model), peer[0], config_name, f"mmagic's {peer[3]}")
    elif args.peer == 'studiogan':
        check_settings(our_settings(model), STUDIOGAN_SETTINGS, config_name, "StudioGAN's code")
    else:
        print(
            f'warning: --unverified: {args.inputs[0]} converted with {config_name} as it is; BN and SN '
            "epsilon, D's ReLU shortcut, channel order, cBN gain and EMA were not checked",
            file=sys.stderr)
    state, found = convert_loaded(args.peer, args.inputs, checkpoints, model)
    if peer is not None and not args.config:
        text = config_text(cfg, peer[0], peer[3], osp.basename(args.output))
    else:  # a config of ours, as used (with --cfg-options), self-contained like the derived one
        text = f'# Our config for {osp.basename(args.output)}: {config_name} as ' \
            f'tools/convert_checkpoint.py used it.\n' + cfg.pretty_text
    meta = dict(
        converted_from=args.peer,
        sources=[osp.basename(p) for p in args.inputs],
        peer_config=peer[3] if peer else None,
        settings_checked=dict(peer[0]) if peer else STUDIOGAN_SETTINGS if args.peer == 'studiogan' else None,
        networks=found)
    config_path = write(args, state, meta, text)
    print(f'converted {", ".join(found)} ({len(state)} tensors) from {args.peer} -> {args.output}, '
          f'config {config_path}')


if __name__ == '__main__':
    try:
        main()
    except ConversionError as err:  # a refused conversion: the message, no traceback
        sys.exit(f'convert_checkpoint: {err}')
