"""The floor of an FID at N: N real images scored exactly as N generated ones, against the same statistics.

FID is biased upwards at small N (Chong & Forsyth 2020), so "FID 157 at 1,000 samples" needs beside it what
1,000 real images get. The images are a seeded random choice (without replacement) from a dataset built
from a config (usually the training set through the evaluation's pipeline); their features are cached in a
statistics file (stats_cache.py) that also records the seed and the indices, and is checked on reuse.
"""
import os.path as osp
from typing import Callable, Optional

import numpy as np
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.registry import DefaultScope
from torch import Tensor, nn
from torch.utils.data import Subset

from sagan_plugin.registry import DATASETS, SCOPE
from .real_features import extract_dataset_features
from .stats_cache import check_stats, dataset_fingerprint, load_stats, make_stats, save_stats

FLOOR_DEFAULTS = dict(dataset=None, inception_pkl=None, seed=0)


def check_floor(floor: dict, real_pkl: Optional[str]) -> dict:
    """The floor options with a dataset config, an integer seed and a file other than the real statistics."""
    if not isinstance(floor.get('dataset'), dict):
        raise ValueError(f'floor needs dataset=<a dataset config dict>, got {floor.get("dataset")!r}')
    seed, pkl = floor['seed'], floor['inception_pkl']
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f'floor seed must be an integer >= 0, got {seed!r}')
    if pkl is not None and real_pkl is not None and osp.abspath(pkl) == osp.abspath(real_pkl):
        raise ValueError(
            f'floor inception_pkl {pkl} is the real statistics file; give the floor its own file')
    return floor


def build_floor_dataset(cfg: dict):
    """The dataset of a config dict, looked up in our scope (as the metric itself is)."""
    with DefaultScope.overwrite_default_scope(SCOPE):
        return DATASETS.build(dict(cfg))


def floor_indices(size: int, num: int, seed: int) -> np.ndarray:
    """``num`` distinct random indices int64 [num] of a dataset of ``size`` items, drawn with ``seed``."""
    if not 0 < num <= size:
        raise ValueError(f'the floor needs {num} real images but its dataset has {size}')
    return np.random.default_rng(seed).choice(size, num, replace=False)


def floor_features(dataset,
                   num: int,
                   seed: int,
                   pkl: Optional[str],
                   extractor: dict,
                   data_preprocessor: nn.Module,
                   batch_size: int,
                   real_key: str,
                   extract: Callable[[Tensor], Tensor],
                   name: str = 'floor') -> np.ndarray:
    """Features float32 [num, D] of ``num`` random images of ``dataset`` (:func:`floor_indices`), read from
    ``pkl`` when it holds these (same network, dataset, count, seed and indices), else extracted and written;
    ``{num}`` in ``pkl`` is replaced by ``num``.

    ``extractor`` is the network's ``identity()``; ``extract`` a metric's ``forward_inception``.
    """
    fingerprint, indices = dataset_fingerprint(dataset), floor_indices(len(dataset), num, seed)
    pkl = pkl.format(num=num) if pkl else pkl  # '{num}' in the name: one file per count (fake_nums overrides)
    if pkl and osp.exists(pkl):
        stats = load_stats(pkl)
        check_stats(stats, pkl, extractor, fingerprint, num, need_features=True)
        if stats.get('floor_seed') != seed or not np.array_equal(stats.get('floor_indices'), indices):
            raise ValueError(
                f'floor statistics file {pkl} holds other images (seed {stats.get("floor_seed")!r}, '
                f'not {seed}); delete it or point floor.inception_pkl elsewhere')
        print_log(f'{name}: reusing the floor\'s real features {pkl} ({num} images)', 'current')
        return stats['real_feats']
    feats = extract_dataset_features(
        Subset(dataset, indices.tolist()), num, batch_size, data_preprocessor, real_key, extract,
        f'{name}: floor images')
    if pkl and is_main_process():
        print_log(f'{name}: writing the floor\'s real features {pkl}', 'current')
        stats = make_stats(feats, extractor, fingerprint, save_features=True)
        save_stats(pkl, dict(stats, floor_seed=seed, floor_indices=indices))
    return feats
