"""Turn a training checkpoint into a file to publish: weights and meta only, sha256 prefix in its name.

    python tools/model_converters/publish_model.py work_dirs/x/iter_1000.pth sagan_x.pth
    # -> sagan_x-<first 8 hex digits of its sha256>.pth, as mmagic names its released weights

Drops the optimizer states, message hub, RNG and scheduler states (what only --resume needs; the two Adam
states alone are twice the weights). ``state_dict`` keeps the generator, its EMA copy and the discriminator.
"""
import argparse
import hashlib
import os
import os.path as osp

import torch

import sagan_plugin  # noqa: F401  (allow-lists what a runner checkpoint holds for weights_only loading)
from sagan_plugin.engine.checkpoint_files import read_checkpoint

KEEP = ('meta', 'state_dict')


def publish(in_file: str, out_file: str) -> str:
    """Write ``in_file``'s weights and meta next to ``out_file``, named with its sha256 prefix.

    Args:
        in_file: a runner checkpoint (``iter_*.pth``) or any checkpoint with a ``state_dict``.
        out_file: the wanted name; ``-<sha256[:8]>`` goes before its ``.pth``.

    Returns:
        The path of the published file.
    """
    checkpoint = read_checkpoint(in_file)  # archive CRC, plain weights, finite values: as every reader
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise KeyError(f'{in_file} has no "state_dict": not a runner checkpoint')
    # Written under a temporary name first, so an interrupted run leaves no file that looks published.
    tmp = f'{out_file}.part'
    try:
        torch.save({key: checkpoint[key] for key in KEEP if key in checkpoint}, tmp)
        with open(tmp, 'rb') as f:
            sha = hashlib.file_digest(f, 'sha256').hexdigest()
        stem = out_file[:-len('.pth')] if out_file.endswith('.pth') else out_file
        final = f'{stem}-{sha[:8]}.pth'
        os.replace(tmp, final)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    return final


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('in_file', help='training checkpoint')
    parser.add_argument('out_file', help='published file name (the sha256 prefix is added before .pth)')
    args = parser.parse_args()
    print(publish(args.in_file, args.out_file))


if __name__ == '__main__':
    main()
