"""Images/s of a folder data set's input pipeline, with and without the decode cache, against the training
step.

    python tools/benchmarks/bench_data_pipeline.py configs/sagan_openclipart_32.py
    python tools/benchmarks/bench_data_pipeline.py configs/sagan_folder_64.py --data-root my_data --items 500

Measured, each in this process on the config's training dataset (``ImageFolder``) and model:

* ``decode``: items/s with ``cache=None``: every draw decodes its file (PIL, downscaled while decoding) and
  runs the pipeline (flip, pack) -- what training pays per image without a cache; drawn at random, so the
  figure covers the folder's mix of small and huge images;
* ``cache``: seconds to build the dataset with the config's cache: decoding every image once when the
  ``.npy`` does not exist yet (delete it, or ``--memory`` for an in-memory cache, to time that), else reading
  it;
* ``cached``: items/s from the cache (a copy, the flip, the pack);
* ``collate + preprocess``: images/s of batching and the model's data preprocessor (uint8 -> [-1, 1]);
* ``train step``: images/s of the config's training iteration (one D step, one G step) at its batch size.

Training is input-bound when an input figure is below the train-step figure (with ``num_workers=0``, as the
folder configs have, the two add up: time per image = 1/input + 1/step).
"""
import argparse
import os.path as osp
import sys
import time

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # the repository

from mmengine import MessageHub  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from PIL import Image  # noqa: E402

import sagan_plugin  # noqa: E402,F401  (registers our types)
from sagan_plugin.datasets.folder_classes import resolve_num_classes  # noqa: E402
from sagan_plugin.engine.launch import merge_cfg_options  # noqa: E402
from sagan_plugin.registry import DATASETS, MODELS  # noqa: E402
from sagan_plugin.visualization.grid import image_grid  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='a config whose train_dataloader.dataset is an ImageFolder')
    parser.add_argument('--data-root', help='the image folder (default: the config\'s)')
    parser.add_argument('--items', type=int, default=300, help='items drawn per dataset measurement')
    parser.add_argument('--steps', type=int, default=5, help='timed training iterations (after 1 warm-up)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--memory', action='store_true', help="cache='memory': time decoding every image")
    parser.add_argument(
        '--real-grid',
        metavar='PNG',
        help='also write the first 4 training images of each '
        'class as the model sees them, one column per class, titled')
    return parser.parse_args(argv)


def items_per_second(dataset, indices) -> float:
    start = time.perf_counter()
    for i in indices:
        dataset[int(i)]
    return len(indices) / (time.perf_counter() - start)


def train_step_rate(cfg: Config, dataset, steps: int) -> tuple:
    """(collate + preprocess images/s, training images/s) at the config's batch size."""
    model = MODELS.build(cfg.model).train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    batch_size = cfg.train_dataloader.batch_size
    items = [dataset[i % len(dataset)] for i in range(batch_size)]
    start = time.perf_counter()
    for _ in range(steps):
        model.data_preprocessor(pseudo_collate(items), True)
    preprocess = steps * batch_size / (time.perf_counter() - start)
    batch, hub = pseudo_collate(items), MessageHub.get_current_instance()
    hub.update_info('iter', 0)  # mmagic's train_step reads the iteration (when to update G)
    model.train_step(batch, optim)  # warm-up: first-call allocations
    start = time.perf_counter()
    for i in range(1, steps + 1):
        hub.update_info('iter', i)
        model.train_step(batch, optim)
    return preprocess, steps * batch_size / (time.perf_counter() - start)


def real_grid(dataset, path: str, per_class: int = 4) -> None:
    """The first ``per_class`` cached images of each class (decoded, alpha on the background), titled."""
    classes = dataset.metainfo['classes']
    found = {c: [] for c in range(len(classes))}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if len(found[info['gt_label']]) < per_class:
            found[info['gt_label']].append(info['gt'][..., ::-1])  # BGR -> RGB
    rows = [
        torch.from_numpy(np.ascontiguousarray(found[c][r])).permute(2, 0, 1) for r in range(per_class)
        for c in range(len(classes))
    ]
    picture = image_grid(torch.stack(rows), len(classes), col_titles=list(classes))
    Image.fromarray(picture).save(path)
    print(f'wrote {path}')


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.data_root:
        merge_cfg_options(cfg, dict(data_root=args.data_root), args.config)
    init_default_scope(cfg.get('default_scope', 'sagan_plugin'))
    resolve_num_classes(cfg)
    base = dict(cfg.train_dataloader.dataset)
    uncached = DATASETS.build(dict(base, cache=None))
    draws = np.random.default_rng(args.seed).integers(0, len(uncached), args.items)
    decode = items_per_second(uncached, draws)
    start = time.perf_counter()
    cached = DATASETS.build(dict(base, cache='memory') if args.memory else base)
    build_s = time.perf_counter() - start
    cached_rate = items_per_second(cached, np.resize(draws, max(args.items, 2000)))
    if args.real_grid:
        real_grid(cached, args.real_grid)
    preprocess, step = train_step_rate(cfg, cached, args.steps)
    print(f'{args.config} on {base["data_root"]}: {len(cached)} images at {base["image_size"]} px, '
          f'{torch.get_num_threads()} threads')
    print(f'decode (no cache):        {decode:10.1f} images/s  ({args.items} random draws)')
    print(f'cache ({"memory" if args.memory else base["cache"]}): {build_s:10.1f} s to build or read '
          f'({len(cached) / build_s:.1f} images/s)')
    print(f'cached:                   {cached_rate:10.1f} images/s')
    print(f'collate + preprocess:     {preprocess:10.1f} images/s')
    print(f'train step:               {step:10.1f} images/s  (batch {cfg.train_dataloader.batch_size})')
    for name, rate in (('no cache', decode), ('cache', cached_rate)):
        share = (1 / rate) / (1 / rate + 1 / preprocess + 1 / step)
        print(f'input share of an iteration with {name}: {100 * share:.1f}%')


if __name__ == '__main__':
    main()
