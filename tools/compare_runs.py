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
import csv
import json
import os
import os.path as osp
from typing import List

import numpy as np

from sagan_plugin.apis.run_features import (check_same_real, class_names, image_features, kind_of,
                                            pick_metric, prepared_metric, provenance, real_labels,
                                            run_checkpoint)
from sagan_plugin.engine.launch import add_common_args, load_config
from sagan_plugin.evaluation.offline_fid import OfflineFID
from sagan_plugin.evaluation.uncertainty import FrechetToReal, KernelToReal, bootstrap_difference


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
