"""The report's small line plots (matplotlib, Agg) and the training log they read.

MMEngine's ``LocalVisBackend`` writes ``<work_dir>/<timestamp>/vis_data/scalars.json``, one JSON object per
line (``{"loss": ..., "gamma/generator.16": ..., "iter": 50, "step": 50}``, ``{"FID/fid": ..., "step":
1500}``); a resumed run has one timestamp folder per start.
"""
import glob
import io
import json
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import matplotlib

matplotlib.use('Agg')  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from .report_html import Figure  # noqa: E402

Series = Dict[str, List[Tuple[float, float]]]  # name -> [(x, y)] sorted by x


def find_scalars(run_dir: str) -> List[str]:
    """The ``scalars.json`` files of a training run's work_dir (or of one timestamp folder), oldest first.

    Raises:
        FileNotFoundError: naming ``run_dir`` when it holds none.
    """
    if not osp.isdir(run_dir):
        raise FileNotFoundError(f'--work-dir {run_dir} is not a folder')
    paths = sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json')))
    paths = paths or sorted(glob.glob(osp.join(run_dir, 'vis_data', 'scalars.json')))
    if not paths:
        raise FileNotFoundError(f'--work-dir {run_dir} holds no training log: expected MMEngine\'s '
                                f'{osp.join(run_dir, "<timestamp>", "vis_data", "scalars.json")}')
    return paths


def read_scalars(paths: Sequence[str]) -> Series:
    """Every numeric key of the log lines against their ``step``; a later file (a resumed run) replaces the
    values of an earlier one at the same step."""
    points: Dict[str, Dict[float, float]] = {}
    for path in paths:
        with open(path, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f'{path}, line {number}: not JSON ({err.msg})') from None
                step = record.get('step', record.get('iter'))
                for key, value in record.items():
                    if key not in ('step', 'iter') and isinstance(value, (int, float)) and step is not None:
                        points.setdefault(key, {})[float(step)] = float(value)
    return {key: sorted(values.items()) for key, values in points.items()}


def select(series: Series, suffix: str = '', prefix: str = '') -> Series:
    """The series whose name starts with ``prefix`` and ends with ``suffix``."""
    return {k: v for k, v in series.items() if k.startswith(prefix) and k.endswith(suffix)}


def line_plot(series: Series, xlabel: str, ylabel: str, title: str, zero_line: bool = False) -> bytes:
    """A PNG (600×340 px) with a line and markers per series; ``zero_line`` draws y = 0."""
    fig, ax = plt.subplots(figsize=(6, 3.4), dpi=100)
    try:
        for name, points in series.items():
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker='o' if len(points) < 30 else None, markersize=3, lw=1, label=name)
        if zero_line:
            ax.axhline(0, color='grey', lw=0.5)
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
        if series:
            ax.legend(fontsize=8)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format='png')
    finally:
        plt.close(fig)
    return buffer.getvalue()


def training_curves(run_dir: str) -> Tuple[List[Figure], List[str]]:
    """FID-type keys and attention gammas against the training step, from the run's log; notes for what the
    log lacks."""
    paths = find_scalars(run_dir)
    series = read_scalars(paths)
    fid = {k: v for k, v in series.items() if k.split('/')[-1] in ('fid', 'intra_fid', 'fid_inf')}
    gamma = select(series, prefix='gamma/')
    figures, notes = [], []
    where = ', '.join(paths)
    if fid:
        figures.append(
            Figure('training_fid', 'FID over training', line_plot(fid, 'iteration', 'FID', 'FID'),
                   f'Validation metrics logged in {where}.'))
    else:
        notes.append(f'The training log ({where}) has no FID: the run had no validation.')
    if gamma:
        figures.append(
            Figure('training_gamma', 'Attention gamma over training',
                   line_plot(gamma, 'iteration', 'gamma', 'gamma', zero_line=True),
                   f'The learned weight of each attention layer\'s output, from {where}.'))
    else:
        notes.append(f'The training log ({where}) has no gamma/* keys (AttentionVisualizationHook was off).')
    return figures, notes
