"""Convert a peer's SAGAN checkpoint (mmagic 1.2, PyTorch-StudioGAN) into this plugin's layout.

    python tools/convert_checkpoint.py --from mmagic IN.pth OUT.pth \\
        --config configs/sagan_mmagic_cifar10_32.py
    python tools/convert_checkpoint.py --from studiogan G.pth [D.pth] [G_ema.pth] OUT.pth \\
        --config configs/sagan_studiogan_imagenet128.py

``--config`` names the config of ours that reproduces the peer's architecture (configs/sagan_mmagic_*.py,
configs/sagan_studiogan_*.py). The result holds ``state_dict`` (our keys, for every network the
input had) and ``meta``; use it with tools/sample.py, tools/test.py or as ``load_from``. Unknown, missing or
mis-shaped keys are an error listing them; nothing is dropped. The input is checked as every checkpoint we
read is (archive CRC, plain weights only, finite values), and a checkpoint that is already ours is refused.
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from sagan_plugin.converters import convert_checkpoint
from sagan_plugin.engine.cfg_options import CfgOptionsAction
from sagan_plugin.engine.checkpoint_files import verify_checkpoint
from sagan_plugin.registry import MODELS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--from',
        dest='peer',
        required=True,
        choices=['mmagic', 'studiogan'],
        help='which implementation wrote the checkpoint')
    parser.add_argument(
        'inputs', nargs='+', help='checkpoint file(s): mmagic one; StudioGAN G, D and/or G_ema')
    parser.add_argument('output', help='where to write the converted checkpoint')
    parser.add_argument('--config', required=True, help='our config reproducing the peer architecture')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config values, e.g. model.num_classes=0 for an unconditional model')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'sagan_plugin'))
    model = MODELS.build(cfg.model)
    state, found = convert_checkpoint(args.peer, args.inputs, model)
    meta = dict(
        converted_from=args.peer,
        sources=[osp.basename(p) for p in args.inputs],
        config=args.config,
        networks=found)
    os.makedirs(osp.dirname(osp.abspath(args.output)), exist_ok=True)
    tmp = f'{args.output}.tmp{os.getpid()}'
    torch.save(dict(state_dict=state, meta=meta), tmp)
    verify_checkpoint(tmp)  # read back as every tool will read it (archive CRC, finite weights)
    os.replace(tmp, args.output)  # a killed conversion never leaves half a file under the output name
    print(f'converted {", ".join(found)} ({len(state)} tensors) from {args.peer} -> {args.output}')


if __name__ == '__main__':
    main()
