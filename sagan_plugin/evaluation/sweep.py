"""Evaluate one checkpoint under several sampling settings: BigGAN's truncation sweep (its quality–diversity
curve, Brock et al. 2019, Fig. 2/17), and the BatchNorm-mode comparison.

Each setting is one ``runner.test()`` of the config's test metrics with some of their sampling options
changed (``truncation``, ``bn_mode``, ``sample_model``, ...). mmagic's evaluator prepares its metrics once
(``Evaluator.is_ready``), so the real statistics are loaded or computed at the first setting only, and the
seeded latents (:mod:`.seeded_sampler`) keep the same z and classes across settings: across truncation
values a sample keeps its class and every entry of z already inside the bound.
"""
import argparse
import csv
import math
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from mmengine.hooks import Hook

from sagan_plugin.models.bn_modes import check_bn_mode
from .generated_image_metric import GeneratedImageMetric

# CSV headers that say what a column is not: the classifier score is EfficientNet-Lite0's, not IS.
CSV_NAMES = dict(
    classifier_score='classifier_score_effnet_lite0_not_is',
    classifier_score_std='classifier_score_effnet_lite0_not_is_std')


class KeepMetrics(Hook):
    """mmagic's ``MultiTestLoop.run()`` returns None; the metrics reach only the after_test_epoch hooks."""

    def __init__(self):
        self.metrics = {}

    def after_test_epoch(self, runner, metrics=None) -> None:
        self.metrics = dict(metrics or {})


def check_truncations(truncations: Sequence[Optional[float]]) -> List[Optional[float]]:
    """The values as floats (None: no truncation); a ValueError naming the first that is not > 0."""
    if not truncations:
        raise ValueError('no truncation values given')
    out = []
    for value in truncations:
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f'truncation values must be > 0 (or None for untruncated z), got {value!r}')
        out.append(None if value is None else float(value))
    return out


def parse_truncation(text: str) -> Optional[float]:
    """A command-line truncation value: ``none`` -> None; a number > 0 -> float; else an argparse error."""
    try:
        return None if text.lower() == 'none' else check_truncations([float(text)])[0]
    except ValueError:
        raise argparse.ArgumentTypeError(f'truncation values must be numbers > 0 or "none", got {text!r}')


def generated_metrics(runner) -> List[GeneratedImageMetric]:
    """The generated-image metrics of the runner's test evaluator(s) (mmagic's MultiTestLoop has several)."""
    loop = runner.test_loop
    evaluators = getattr(loop, 'evaluators', None) or [loop.evaluator]
    metrics = [m for e in evaluators for m in e.metrics if isinstance(m, GeneratedImageMetric)]
    if not metrics:
        raise ValueError('the config\'s test_evaluator has no metric of generated images (OfflineFID, '
                         'OfflineIS, ClassifierScore, ...) to evaluate')
    return metrics


def evaluate_settings(runner, settings: Sequence[dict]) -> List[dict]:
    """``runner.test()`` once per setting, each a dict of attributes set on every generated-image metric
    (e.g. ``dict(truncation=0.5, bn_mode='standing')``); the metrics' dicts, in order. The metrics get their
    own values back afterwards."""
    metrics, keep = generated_metrics(runner), KeepMetrics()
    names = sorted({name for setting in settings for name in setting})
    for name in names:
        if not all(hasattr(m, name) for m in metrics):
            raise ValueError(f'{name!r} is not an option of every test metric '
                             f'({[type(m).__name__ for m in metrics]})')
    saved = [{name: getattr(m, name) for name in names} for m in metrics]
    runner.register_hook(keep, priority='LOWEST')
    results = []
    try:
        for setting in settings:
            if 'bn_mode' in setting:
                check_bn_mode(setting['bn_mode'])
            for metric in metrics:
                for name, value in setting.items():
                    setattr(metric, name, value)
            keep.metrics = {}
            runner.test()
            results.append(dict(keep.metrics))
    finally:
        for metric, values in zip(metrics, saved):
            for name, value in values.items():
                setattr(metric, name, value)
    return results


def short_keys(metrics: dict) -> dict:
    """``{'FID/fid': 3.1, 'IS/is': 2.0}`` -> ``{'fid': 3.1, 'is': 2.0}`` (scalars only; a name two metrics
    share keeps its prefix)."""
    scalars = {
        k: float(v)
        for k, v in metrics.items() if isinstance(v, (int, float)) or hasattr(v, '__float__')
    }
    short = [k.split('/')[-1] for k in scalars]
    return {(s if short.count(s) == 1 else k): v for (k, v), s in zip(scalars.items(), short)}


def truncation_sweep(runner,
                     truncations: Sequence[Optional[float]],
                     bn_mode: Optional[str] = None,
                     standing_stats: Optional[dict] = None) -> List[dict]:
    """The test metrics at each truncation value: rows ``{'truncation': T or None, 'fid': ..., 'is' or
    'classifier_score': ..., ...}`` (every scalar the metrics give, without their prefixes).

    Args:
        runner: an MMEngine Runner built from the config, with the checkpoint loaded.
        truncations: values > 0, or None for untruncated z; checked before anything runs.
        bn_mode: the metrics' ``bn_mode`` for the whole sweep (None: the config's). ``'standing'``
            re-estimates the statistics at each truncation value, as BigGAN-PyTorch's truncation curves do.
        standing_stats: the metrics' ``standing_stats`` (None: theirs).
    """
    truncations = check_truncations(truncations)
    extra = {} if bn_mode is None else dict(bn_mode=check_bn_mode(bn_mode))
    if standing_stats is not None:
        extra['standing_stats'] = dict(standing_stats)
    results = evaluate_settings(runner, [dict(truncation=t, **extra) for t in truncations])
    return [dict(truncation=t, **short_keys(metrics)) for t, metrics in zip(truncations, results)]


def write_sweep(rows: List[dict], out_dir: str) -> Tuple[str, str]:
    """``out_dir/truncation.csv`` (one row per value, ``none`` for untruncated) and ``out_dir/truncation.png``
    (FID and the class-probability score against T, and FID against the score); their paths."""
    os.makedirs(out_dir, exist_ok=True)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    csv_path, png_path = osp.join(out_dir, 'truncation.csv'), osp.join(out_dir, 'truncation.png')
    with open(csv_path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow([CSV_NAMES.get(c, c) for c in columns])
        for row in rows:
            writer.writerow(['none' if row.get(c, '') is None else row.get(c, '') for c in columns])
    _plot(rows, png_path)
    return csv_path, png_path


def _plot(rows: List[dict], path: str) -> None:
    """Two panels: FID (and the score, right axis) against T, untruncated drawn at the right end; FID against
    the score with each point labelled by T."""
    import matplotlib
    matplotlib.use('Agg')  # files only, no display
    import matplotlib.pyplot as plt
    score = next((k for k in ('is', 'classifier_score') if k in rows[0]), None)
    label = {'is': 'IS', 'classifier_score': 'classifier score (EfficientNet-Lite0, not IS)'}.get(score)
    finite = [r['truncation'] for r in rows if r['truncation'] is not None]
    x_none = (max(finite) * 1.25) if finite else 1.0
    xs = [x_none if r['truncation'] is None else r['truncation'] for r in rows]
    names = ['none' if r['truncation'] is None else f'{r["truncation"]:g}' for r in rows]
    figure, (left, right) = _axes(plt, score)
    left.plot(xs, [r['fid'] for r in rows], 'o-', color='tab:blue')
    left.set(
        xlabel='truncation T (rightmost: none)',
        ylabel='FID',
        title='FID and score against truncation' if score else 'FID against truncation')
    left.set_xticks(xs, names)
    if score:
        twin = left.twinx()
        twin.plot(xs, [r[score] for r in rows], 's--', color='tab:orange')
        twin.set_ylabel(label, color='tab:orange')
        right.plot([r[score] for r in rows], [r['fid'] for r in rows], 'o-')
        for row, name in zip(rows, names):
            right.annotate(f'T={name}', (row[score], row['fid']), textcoords='offset points', xytext=(4, 4))
        right.set(xlabel=label, ylabel='FID', title='quality–diversity (BigGAN)')
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _axes(plt, score: Optional[str]):
    """A figure with one panel, or two side by side when there is a score to plot against FID."""
    figure, axes = plt.subplots(1, 2 if score else 1, figsize=(10 if score else 5, 4), squeeze=False)
    return figure, (axes[0][0], axes[0][1] if score else None)
