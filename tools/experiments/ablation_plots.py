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
        runs = max(len(v) for v in points.values())
        line, = ax.plot(iters, mean, marker='o', label=f'{arm} ({runs} run{"s" if runs > 1 else ""})')
        ax.fill_between(
            iters, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
            color=line.get_color(),
            alpha=0.15)
    ax.set(xlabel='iteration', ylabel='FID (EMA samples vs test images)', title='FID, mean ± std over seeds')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_gamma(rows: list, path: str) -> None:
    """γ of every attention (or control) layer against iterations: a panel per arm, a line per layer×seed.
    ``rows``: dicts of arm, seed, iter, layer, gamma."""
    curves = defaultdict(list)  # (arm, seed, layer) -> [(iter, gamma)]
    for row in rows:
        curves[(row['arm'], row['seed'], row['layer'])].append((row['iter'], row['gamma']))
    arms = sorted({arm for arm, _, _ in curves})
    if not arms:
        return
    fig, axes = plt.subplots(1, len(arms), figsize=(3.2 * len(arms), 3), dpi=100, squeeze=False)
    for ax, arm in zip(axes[0], arms):
        for (curve_arm, seed, layer), points in sorted(curves.items()):
            if curve_arm != arm:
                continue
            steps, values = zip(*sorted(points))
            ax.plot(
                steps,
                values,
                lw=0.8,
                color='tab:blue' if layer.startswith('generator') else 'tab:red',
                label=layer if seed == min(s for a, s, _ in curves if a == arm) else None)
        ax.axhline(0, color='grey', lw=0.5)
        ax.set(title=arm, xlabel='iteration', ylabel='γ')
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
