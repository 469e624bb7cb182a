"""Compare two runs on the same real statistics: each metric of A and B, and A - B with a bootstrap interval.

    python tools/compare_runs.py CONFIG A B [--out DIR] [--rounds 100] [--level 0.95] [--cfg-options k=v ...]

A and B are each a checkpoint (scored by ``runner.test()`` with the config's first OfflineFID-type test
metric, on its seeded latents) or an image set (a folder or an ``.npz``, read by
``sagan_plugin.evaluation.image_sets.load_image_set``). FID and KID get an interval for A - B from
``--rounds`` resamplings of the generated features: paired for two checkpoints (image i of A and of B come
from the same latent, so both take the same resampled rows), unpaired otherwise. For a class-conditional
model, the same per class (FID). Written to ``--out``: compare.csv / compare.json and, per class,
compare_per_class.csv / .json. Saved results are refused (they hold no features, and nothing says which
real statistics they were scored against); so is a pair whose real statistics differ.
"""
import argparse
import copy
import csv
import hashlib
import json
import os
import os.path as osp
import uuid
from types import SimpleNamespace
from typing import List, Optional

import numpy as np
import torch
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from sagan_plugin.engine.launch import add_common_args, check_checkpoint, load_config
from sagan_plugin.engine.work_dir_lock import claim_work_dir
from sagan_plugin.evaluation.offline_fid import OfflineFID
from sagan_plugin.evaluation.real_features import batch_labels
from sagan_plugin.evaluation.uncertainty import FrechetToReal, KernelToReal, bootstrap_difference
from sagan_plugin.registry import DATASETS, METRICS, MODELS, SCOPE

SAVED_RESULTS = ('.json', '.csv', '.pkl', '.txt', '.log')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file (its first OfflineFID-type test metric scores both)')
    parser.add_argument('a', help='run A: a checkpoint, an image folder or an .npz of images')
    parser.add_argument('b', help='run B: the same kinds')
    parser.add_argument('--out', help='folder for compare.csv/.json (and the per-class tables)')
    parser.add_argument('--rounds', type=int, default=100, help='bootstrap rounds (default 100)')
    parser.add_argument('--level', type=float, default=0.95, help='interval level (default 0.95)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the resampling')
    add_common_args(parser)
    return parser.parse_args()


def pick_metric(cfg) -> dict:
    """The first test metric that is an OfflineFID (or a subclass), keeping its features, without the
    options whose figures this tool does not use (bootstrap, FID∞, floor)."""
    for metric in cfg.get('test_evaluator', {}).get('metrics', []) or []:
        with DefaultScope.overwrite_default_scope(SCOPE):
            kind = METRICS.get(metric['type'])
        if isinstance(kind, type) and issubclass(kind, OfflineFID):
            keep = {
                k: v
                for k, v in copy.deepcopy(dict(metric)).items()
                if k not in ('bootstrap', 'fid_infinity', 'floor')
            }
            return dict(keep, keep_features=True)
    raise ValueError(f'{cfg.filename}: no OfflineFID-type metric in test_evaluator.metrics to score with')


def kind_of(path: str) -> str:
    """'images' (a folder or an .npz) or 'checkpoint'; saved results are refused, saying why."""
    if osp.isdir(path) or path.lower().endswith('.npz'):
        return 'images'
    if path.lower().endswith(SAVED_RESULTS):
        raise ValueError(f'{path}: compare_runs takes checkpoints or image sets, not saved results; a saved '
                         'figure holds no features to resample, and nothing in it says which real statistics '
                         'it was scored against')
    check_checkpoint(path)
    return 'checkpoint'


def provenance(metric: OfflineFID) -> dict:
    """What the scores depend on besides the images: the network and the real statistics' arrays."""
    digest = hashlib.sha256()
    for array in (metric.real_mean, metric.real_cov, metric.real_feats):
        if array is not None:
            digest.update(np.ascontiguousarray(array).tobytes())
    return dict(network=metric.inception.identity(), real_statistics=digest.hexdigest())


def check_same_real(a: dict, b: dict, names: List[str]) -> None:
    """Refuse a comparison whose two sides were scored against different real statistics or networks."""
    problems = [
        f'{key}: {a[key]!r} for {names[0]}, {b[key]!r} for {names[1]}' for key in a if a[key] != b[key]
    ]
    if problems:
        raise ValueError(
            'refusing to compare: the two were scored against different real statistics, so their '
            'difference would mix the runs with the references:\n  - ' + '\n  - '.join(problems) +
            '\n(was the statistics file rewritten between them? score both with one config)')


def run_checkpoint(cfg, metric_cfg: dict, checkpoint: str) -> OfflineFID:
    """``runner.test()`` of ``checkpoint`` with the one metric; the metric, holding its features."""
    cfg = copy.deepcopy(cfg)
    cfg.test_evaluator = dict(type='Evaluator', metrics=[metric_cfg])
    cfg.load_from, cfg.resume = None, False
    cfg.experiment_name = f'compare_runs_{uuid.uuid4().hex[:12]}'  # two runs in one second: own log folders
    with claim_work_dir(cfg):
        runner = Runner.from_cfg(cfg)
        runner.load_checkpoint(checkpoint, map_location='cpu', strict=True)
        runner.test()
    return runner.test_loop.evaluators[0].metrics[0]


def prepared_metric(cfg, metric_cfg: dict) -> OfflineFID:
    """The metric with its real statistics, without a model (for image sets)."""
    with DefaultScope.overwrite_default_scope(SCOPE):
        metric = METRICS.build(metric_cfg)
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        module = SimpleNamespace(data_preprocessor=MODELS.build(cfg.model.data_preprocessor))
    metric.prepare(module, SimpleNamespace(dataset=dataset, batch_size=cfg.test_dataloader.batch_size))
    metric.dataset = dataset
    return metric


def real_dataset(cfg, metric: OfflineFID):
    if getattr(metric, 'dataset', None) is None:
        with DefaultScope.overwrite_default_scope(SCOPE):
            metric.dataset = DATASETS.build(cfg.test_dataloader.dataset)
    return metric.dataset


def class_names(cfg, metric: OfflineFID) -> Optional[List[str]]:
    """The model's class names (the evaluation dataset's), None for an unconditional model."""
    num_classes = cfg.model.get('num_classes') or 0
    if not num_classes:
        return None
    names = list(getattr(real_dataset(cfg, metric), 'metainfo', {}).get('classes') or [])
    return names if len(names) == num_classes else [str(c) for c in range(num_classes)]


@torch.no_grad()
def image_features(cfg, metric: OfflineFID, path: str) -> tuple:
    """Features [N, D] float64 and class ids (or None) of an image set, through the metric's network."""
    from sagan_plugin.evaluation.image_sets import load_image_set
    sample = real_dataset(cfg, metric)[0]['data_samples']
    resolution = getattr(sample, metric.real_key or 'gt_img').shape[-1]
    images, labels = load_image_set(path, resolution=resolution, class_names=class_names(cfg, metric))
    bgr = images[:, [2, 1, 0]]  # forward_inception takes the models' BGR and flips it back
    feats = torch.cat([metric.forward_inception(chunk) for chunk in bgr.split(metric.feature_batch_size)])
    return feats.cpu().double().numpy(), labels


def real_labels(cfg, metric: OfflineFID) -> np.ndarray:
    """Classes int64 [num real] of the real images the statistics came from (the dataset's first ones)."""
    if getattr(metric, 'real_labels', None) is not None:
        return np.asarray(metric.real_labels)
    dataset = real_dataset(cfg, metric)
    num = len(metric.real_feats)
    return np.concatenate([batch_labels(dataset[i]['data_samples']).numpy() for i in range(num)])


def global_rows(metric: OfflineFID, a: np.ndarray, b: np.ndarray, paired: bool, args) -> List[dict]:
    """One row per metric key: a, b, difference and, for FID and KID, the bootstrap interval of a - b."""
    scores_a, scores_b = metric.score(a), metric.score(b)
    statistics = dict(fid=metric.frechet())
    if metric.kid_cfg is not None:
        statistics['kid'] = KernelToReal(metric.real_feats, **metric.kid_cfg)
    rows = []
    for key in (k for k in scores_a if k not in ('mean', 'cov', 'kid_std')):
        row = dict(metric=key, a=scores_a[key], b=scores_b[key], difference=scores_a[key] - scores_b[key])
        if key in statistics:
            spread = bootstrap_difference(
                a, b, statistics[key], rounds=args.rounds, seed=args.seed, level=args.level, paired=paired)
            row.update(low=spread['low'], high=spread['high'], std=spread['std'])
        rows.append(row)
    return rows


def per_class_rows(metric: OfflineFID, sides: list, labels: np.ndarray, names: List[str], paired: bool,
                   args) -> List[dict]:
    """Per class: the FID of a and of b against that class's real images, and a - b with its interval."""
    real, rows = np.asarray(metric.real_feats, np.float64), []
    values = []
    try:  # the per-class table of the per-class metric, when it is there: its counts and checks
        from sagan_plugin.evaluation.per_class import class_rows
        values = [class_rows(f, l, real, labels, len(names), names) for f, l in sides]
    except ImportError:
        pass
    for c, name in enumerate(names):
        real_c = real[labels == c]
        frechet = FrechetToReal(real_c.mean(0), np.cov(real_c, rowvar=False))
        (fa, la), (fb, lb) = sides
        spread = bootstrap_difference(
            fa[la == c],
            fb[lb == c],
            frechet,
            rounds=args.rounds,
            seed=args.seed,
            level=args.level,
            paired=paired)
        fid_a, fid_b = (v[c]['fid']
                        for v in values) if values else (frechet(fa[la == c]), frechet(fb[lb == c]))
        rows.append({
            'class': c,
            'name': name,
            'num_a': int((la == c).sum()),
            'num_b': int((lb == c).sum()),
            'num_real': len(real_c),
            'fid_a': fid_a,
            'fid_b': fid_b,
            'difference': fid_a - fid_b,
            'low': spread['low'],
            'high': spread['high'],
            'std': spread['std']
        })
    return rows


def write(rows: List[dict], stem: str) -> None:
    with open(f'{stem}.json', 'w') as f:
        json.dump(rows, f, indent=2)
    with open(f'{stem}.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)


def show(rows: List[dict], first: str, names: tuple) -> None:
    print(f'{first:>12} {names[0][-24:]:>24} {names[1][-24:]:>24} {"A - B":>12}  interval')
    for row in rows:
        a, b = (row.get(k, row.get(f'fid_{k}')) for k in ('a', 'b'))
        interval = f'[{row["low"]:.4g}, {row["high"]:.4g}]' if 'low' in row else '(no interval)'
        print(f'{str(row.get("metric", row.get("name"))):>12} {a:>24.4g} {b:>24.4g} '
              f'{row["difference"]:>+12.4g}  {interval}')


def main() -> None:
    args = parse_args()
    kinds = [kind_of(args.a), kind_of(args.b)]
    cfg = load_config(args)
    metric_cfg, metric, sides, marks = pick_metric(cfg), None, [], []
    for path, kind in zip((args.a, args.b), kinds):
        if kind == 'checkpoint':
            scored = run_checkpoint(cfg, metric_cfg, path)
            feats = np.asarray(scored.fake_feats, np.float64)
            labels = scored.fake_labels() if cfg.model.get('num_classes') else None
            marks.append(provenance(scored))
            metric = metric or scored
        else:
            metric = metric or prepared_metric(cfg, metric_cfg)
            feats, labels = image_features(cfg, metric, path)
            marks.append(provenance(metric))
        sides.append((feats, labels))
    check_same_real(*marks, [args.a, args.b])
    paired = kinds == ['checkpoint', 'checkpoint']  # the same seeded latents, row by row
    print(f'{"paired" if paired else "unpaired"} bootstrap, {args.rounds} rounds, level {args.level}')
    rows = global_rows(metric, sides[0][0], sides[1][0], paired, args)
    show(rows, 'metric', (args.a, args.b))
    names, class_table = class_names(cfg, metric), None
    if names and all(labels is not None for _, labels in sides) and metric.real_feats is not None:
        class_table = per_class_rows(metric, sides, real_labels(cfg, metric), names, paired, args)
        show(class_table, 'class (FID)', (args.a, args.b))
    elif names:
        print('no per-class rows: they need the class of every image on both sides and the real features '
              '(kid or precision_recall on in the metric)')
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        write(rows, osp.join(args.out, 'compare'))
        if class_table:
            write(class_table, osp.join(args.out, 'compare_per_class'))
        print(f'written to {args.out}')


if __name__ == '__main__':
    main()
