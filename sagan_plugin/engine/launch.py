"""What tools/train.py and tools/test.py share: config loading and the CPU-friendly distributed start."""
import argparse
import os
import os.path as osp
import zipfile

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments both tools take, spelled as in mmagic's tools."""
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config values, e.g. train_cfg.max_iters=10 data_root=/data/imagenet')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher; tools/dist_*.sh pass "pytorch" (torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """The config with command-line overrides, work_dir and launcher filled in."""
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.launcher = args.launcher
    _start_distributed(cfg)
    return cfg


def _start_distributed(cfg: Config) -> None:
    """Without CUDA, start the process group on gloo ourselves.

    MMEngine's pytorch launcher calls ``torch.cuda.set_device``, the configs ask for nccl and the Runner pins
    DDP to a GPU; none of that works on a CPU machine. The Runner skips its own initialisation when a
    process group already exists.
    """
    os.environ.setdefault('LOCAL_RANK', '0')
    if cfg.launcher == 'none' or torch.cuda.is_available() or dist.is_initialized():
        return
    if cfg.launcher != 'pytorch':
        raise RuntimeError(f'launcher {cfg.launcher!r} needs CUDA; on CPU use torchrun (--launcher pytorch)')
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    # The Runner gives DDP device_ids=[LOCAL_RANK], which DDP rejects for CPU modules.
    cfg.setdefault('model_wrapper_cfg', {})['device_ids'] = None
    dist.init_process_group(backend='gloo')


def check_checkpoint(path: str) -> None:
    """Fail early, naming the file, when a checkpoint is missing, truncated or not a torch zip archive.

    Only the zip directory at the end of the file is read, so this is cheap even for large checkpoints.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} does not exist')
    try:
        with zipfile.ZipFile(path) as archive:
            archive.namelist()
    except (zipfile.BadZipFile, OSError) as err:
        size = osp.getsize(path)
        raise ValueError(f'checkpoint {path} ({size} bytes) is truncated or not a PyTorch checkpoint: {err}. '
                         'Resume from an earlier one (work_dir/iter_*.pth)') from err
