"""What tools/train.py and tools/test.py share: config loading and the CPU-friendly distributed start."""
import argparse
import ctypes
import ctypes.util
import os
import os.path as osp
from typing import Iterator, Optional

import torch
import torch.distributed as dist
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

from sagan_plugin.datasets.folder_classes import resolve_num_classes
from .cfg_options import CfgOptionsAction, check_custom_hook_index, check_hook_overrides
from .checkpoint_files import verify_checkpoint as check_checkpoint  # noqa: F401  (the tools' name for it)

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Arguments both tools take, spelled as in mmagic's tools."""
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default work_dirs/<config name>)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        help='override config values, e.g. train_cfg.max_iters=10 data_root=/data/imagenet (data_root moves '
        'every dataset that reads from the config\'s data_root; a value with spaces is kept as typed)')
    parser.add_argument(
        '--data-root',
        metavar='PATH',
        help='the data folder, taken verbatim (spaces, any letters): moves every dataset that reads from the '
        'config\'s data_root, as --cfg-options data_root=PATH does')
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
    merge_cfg_options(cfg, _with_data_root(args), args.config)
    resolve_num_classes(cfg)  # model.num_classes='from_folder': counted once the folder is final
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    if osp.exists(cfg.work_dir) and not osp.isdir(cfg.work_dir):
        raise NotADirectoryError(f'work_dir {cfg.work_dir} is a file, not a folder')
    cfg.launcher = args.launcher
    if cfg.get('env_cfg', {}).get('keep_freed_memory', False):
        keep_freed_memory()
    _start_distributed(cfg)
    return cfg


def _with_data_root(args: argparse.Namespace) -> Optional[dict]:
    """``--cfg-options`` with ``--data-root PATH`` added as ``data_root`` (the folder must exist)."""
    options, root = args.cfg_options, getattr(args, 'data_root', None)
    if root is None:
        return options
    if options and 'data_root' in options:
        raise ValueError(f'--data-root {root} and --cfg-options data_root={options["data_root"]}: give one')
    if not osp.isdir(root):
        raise FileNotFoundError(f'--data-root {root!r}: no such folder')
    return dict(options or {}, data_root=root)


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse instead of returning it to the OS (config switch
    ``env_cfg.keep_freed_memory``); False where the C library is not glibc.

    PyTorch's CPU allocator has no cache: every large tensor is a fresh ``mmap`` whose pages fault in on first
    touch, and a training step allocates and frees the same sizes over and over (SN'd weights, activations,
    gradients). Serving them from the heap (``M_MMAP_MAX=0``) and never trimming it (``M_TRIM_THRESHOLD``)
    is what PyTorch's CUDA caching allocator does for GPU memory: 1.15-1.35x images/s on CPU, peak memory
    about +10% (tools/benchmarks/bench_train.py --keep-freed-memory). Set in the process, so it needs no
    LD_PRELOAD or environment variable.
    """
    path = ctypes.util.find_library('c')
    libc = ctypes.CDLL(path) if path else None
    if libc is None or not hasattr(libc, 'mallopt') or not hasattr(libc, 'gnu_get_libc_version'):
        print_log('keep_freed_memory: the C library is not glibc; left as it is', 'current')
        return False
    m_trim_threshold, m_mmap_max = -1, -4  # <malloc.h>
    return bool(libc.mallopt(m_mmap_max, 0) and libc.mallopt(m_trim_threshold, 2**31 - 1))


def merge_cfg_options(cfg: Config, options: Optional[dict], config_file: str) -> None:
    """``--cfg-options`` into ``cfg`` (MMEngine's merge), with ``data_root=X`` moving the datasets' roots."""
    if not options:
        return
    base_root = cfg.get('data_root')
    check_custom_hook_index(cfg, options)
    cfg.merge_from_dict(options)
    check_hook_overrides(cfg, options)
    if 'data_root' in options:
        move_data_root(cfg, base_root, config_file)


def move_data_root(cfg: Config, base_root: Optional[str], config_file: str) -> None:
    """``--cfg-options data_root=X``: each dataset whose ``data_root`` was the config's ``data_root`` reads X.

    MMEngine substitutes ``data_root`` into the dataset dicts when it parses the file, so overriding the
    top-level key alone moves nothing. Roots set explicitly to something else (or overridden on the same
    command line) are left alone.
    """
    new_root = cfg.data_root
    if base_root is None:
        raise KeyError(
            f'--cfg-options data_root={new_root}: {config_file} has no top-level data_root to move; '
            'set the dataset roots instead, e.g. train_dataloader.dataset.data_root=...')
    moved = []
    for name in DATALOADERS:
        for path, dataset in _datasets(cfg.get(name), f'{name}.dataset'):
            if dataset.get('data_root') == base_root:
                dataset.data_root = new_root
                moved.append(path)
    if not moved:
        raise KeyError(f'--cfg-options data_root={new_root}: no dataset in {config_file} reads from its '
                       f'data_root ({base_root}); set the dataset roots instead')
    print_log(f'data_root {base_root} -> {new_root} for {", ".join(moved)}', 'current')


def _datasets(loader: Optional[dict], path: str) -> Iterator:
    """(config path, dataset dict) of a dataloader's dataset and the datasets it wraps (Concat, Repeat...)."""
    dataset = loader.get('dataset') if isinstance(loader, dict) else None
    stack = [(path, dataset)]
    while stack:
        path, dataset = stack.pop()
        if isinstance(dataset, (list, tuple)):
            stack += [(f'{path}.{i}', d) for i, d in enumerate(dataset)]
        elif isinstance(dataset, (dict, ConfigDict)):
            yield path, dataset
            stack += [(f'{path}.{key}', dataset[key]) for key in ('dataset', 'datasets') if key in dataset]


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
