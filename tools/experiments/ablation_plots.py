"""The attention ablation's figures: FID against iterations per arm, and γ of every attention layer."""
import statistics
from collections import defaultdict

import matplotlib

matplotlib.use('Agg')  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


def plot_fid(rows: list, path: str) -> None:
    """Mean ± std over seeds of FID at each evaluated iteration, one line per arm."""
    by_arm = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_arm[row['arm']][row['iter']].append(row['fid'])
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for arm, points in sorted(by_arm.items()):
        iters = sorted(points)
        mean = [statistics.mean(points[i]) for i in iters]
        std = [statistics.stdev(points[i]) if len(points[i]) > 1 else 0.0 for i in iters]
        line, = ax.plot(iters, mean, marker='o', label=arm)
        ax.fill_between(
            iters, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
            color=line.get_color(),
            alpha=0.15)
    ax.set(xlabel='iteration', ylabel='FID (EMA samples vs test images)', title='FID, mean ± std over seeds')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_gamma(runs: dict, path: str) -> None:
    """γ of every attention (or control) layer against iterations: a panel per arm, a line per layer×seed."""
    arms = sorted({name.split('/')[0] for name, rows in runs.items() if _gamma_keys(rows)})
    if not arms:
        return
    fig, axes = plt.subplots(1, len(arms), figsize=(3.2 * len(arms), 3), dpi=100, squeeze=False)
    for ax, arm in zip(axes[0], arms):
        for name, rows in sorted(runs.items()):
            if name.split('/')[0] != arm:
                continue
            for key in sorted(_gamma_keys(rows)):
                steps = sorted(s for s, r in rows.items() if key in r)
                ax.plot(
                    steps, [rows[s][key] for s in steps],
                    lw=0.8,
                    color='tab:blue' if 'generator' in key else 'tab:red',
                    label=key.split('/')[1] if name.endswith('seed0') else None)
        ax.axhline(0, color='grey', lw=0.5)
        ax.set(title=arm, xlabel='iteration', ylabel='γ')
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _gamma_keys(rows: dict) -> set:
    return {k for row in rows.values() for k in row if k.startswith('gamma/')}
