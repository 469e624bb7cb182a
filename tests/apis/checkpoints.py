"""Tiny models and checkpoints for the API, tool and hook tests."""
import os.path as osp
from typing import Sequence

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from sagan_plugin.datasets.fashion_mnist import CLASSES
from tests.conftest import REPO, build_runner

TINY = osp.join(REPO, 'tests', 'data', 'tiny_demo.py')


def tiny_config(**model) -> Config:
    """The tiny demo config with ``model`` keys overridden (e.g. ``num_classes=0``)."""
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict({f'model.{k}': v for k, v in model.items()})
    return cfg


def save_checkpoint(path, state_dict: dict, meta: bool = True) -> str:
    """A checkpoint as the runner writes it (``state_dict`` + ``meta.dataset_meta``), or weights only."""
    torch.save(
        dict(state_dict=state_dict, meta=dict(dataset_meta=dict(classes=CLASSES))) if meta else dict(
            state_dict=state_dict), path)
    return str(path)


def train_tiny(work_dir, iters: int = 2, hooks: Sequence[dict] = (), **cfg_options) -> Runner:
    """Train the tiny demo config in this process (real Runner, real Fashion-MNIST) for ``iters`` iterations,
    with ``hooks`` added to the config's custom hooks; ``work_dir/iter_<iters>.pth`` is a runner checkpoint
    with EMA weights."""
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict(dict(work_dir=str(work_dir), **{'train_cfg.max_iters': iters}, **cfg_options))
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + list(hooks)
    runner = build_runner(cfg)
    runner.train()
    return runner
