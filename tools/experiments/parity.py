"""Parity with mmagic: mmagic 1.2's own SAGAN and ours, trained alike on Fashion-MNIST 32x32, scored alike.

    python tools/experiments/parity.py                         # 2 seeds a side, 1,500 iterations, width 64
    python tools/experiments/parity.py --resume                # continue runs that were stopped
    python tools/experiments/parity.py --evaluate-only         # score the checkpoints there, CSV and figure
    python tools/experiments/parity.py --evaluate-only --final-only --sample-models ema orig --out OUT
    python tools/experiments/parity.py --from-csv --out OUT     # figure and summary again from OUT/parity.csv

Training (parity_configs.py beside this file says what is shared): each side and seed runs tools/train.py
with its config in ``--work-dir``/SIDE_wWIDTH_sSEED, a checkpoint every ``--interval`` iterations.
mmagic's side is mmagic's SAGAN class, networks and train_step (its CIFAR-10 config's model section, built
by mmagic's registry), ours the config that computes the same function (checked by the converter's settings
comparison before anything trains). A run whose folder holds iter_ITERS.pth is not trained again; one that
stopped earlier is refused unless ``--resume`` continues it from its last checkpoint.

Evaluation (parity_eval.py), afterwards and one protocol for both: every checkpoint's EMA generator
(``--sample-models``), through our model (mmagic's converted), by the demo's OfflineFID with KID and
precision/recall, ``--num-eval`` samples against the first as many test images. Results are cached beside
each checkpoint; a rerun scores only new checkpoints.

Output in ``--out``: parity.csv (side, seed, width, iteration, sample_model, num_eval, fid, kid, precision,
recall, s_per_iter: the mean seconds per iteration of the run's training log), fid.png (FID against
iterations per side and seed) and summary.md (each metric's mean ± std over seeds per side, iteration and
sample model, with Welch's p of ours against mmagic where both sides have two seeds).
"""
import argparse
import csv
import glob
import os
import os.path as osp
import subprocess
import sys

import matplotlib
import numpy as np

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from parity_configs import write_configs  # noqa: E402  (next to this file)
from parity_eval import evaluate_run, seconds_per_iter  # noqa: E402

from sagan_plugin.evaluation.uncertainty import welch  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIDES = ('ours', 'mmagic')
COLUMNS = ('side', 'seed', 'width', 'iteration', 'sample_model', 'num_eval', 'fid', 'kid', 'precision',
           'recall', 's_per_iter')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sides', nargs='+', choices=SIDES, default=list(SIDES))
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--iters', type=int, default=1500, help='training iterations (one D step each)')
    parser.add_argument('--interval', type=int, default=250, help='a checkpoint every K iterations')
    parser.add_argument(
        '--width', type=int, default=64, help='channels of every block of G and D, both sides')
    parser.add_argument('--num-eval', type=int, default=1000, help='generated and real images per score')
    parser.add_argument('--sample-models', nargs='+', choices=('ema', 'orig'), default=['ema'])
    parser.add_argument('--resume', action='store_true', help='continue runs stopped before their last step')
    parser.add_argument('--evaluate-only', action='store_true', help='no training; score what is there')
    parser.add_argument(
        '--final-only', action='store_true', help='score only each run\'s iter_ITERS (e.g. to add "orig")')
    parser.add_argument(
        '--from-csv', action='store_true', help='no training or scoring: redraw from --out/parity.csv')
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'parity'))
    parser.add_argument('--out', default=osp.join(REPO, 'docs', 'parity'), help='parity.csv and fid.png')
    args = parser.parse_args()
    if args.iters < 1 or not 0 < args.interval <= args.iters:
        parser.error(f'--iters {args.iters} --interval {args.interval}: need 0 < interval <= iters')
    return args


def say(message: str) -> None:
    print(f'[parity] {message}', flush=True)


def run_dir(args, side: str, seed: int) -> str:
    return osp.join(args.work_dir, f'{side}_w{args.width}_s{seed}')


def train(args, config: str, side: str, seed: int) -> None:
    """One side and seed through tools/train.py, unless its last checkpoint is there."""
    folder = run_dir(args, side, seed)
    if osp.exists(osp.join(folder, f'iter_{args.iters}.pth')):
        return say(f'{side} seed {seed}: iter_{args.iters}.pth in {folder}, not trained again')
    started = bool(glob.glob(osp.join(folder, 'iter_*.pth')))
    if started and not args.resume:
        raise SystemExit(f'parity: {side} seed {seed} stopped before iteration {args.iters} in {folder}; '
                         'continue it with --resume, or delete the folder to start it again')
    cmd = [
        sys.executable, 'tools/train.py', config, '--work-dir', folder, '--cfg-options',
        f'randomness.seed={seed}', *['--resume'] * started
    ]
    log = f'{folder}.out'
    say(f'{side} seed {seed}: {" ".join(cmd[1:])} (output in {log})')
    with open(log, 'a') as out:
        code = subprocess.run(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT).returncode
    if code != 0:
        raise SystemExit(f'parity: training {side} seed {seed} failed (exit {code}); see {log}')


def evaluate(args, configs: dict) -> list:
    """The CSV rows of every run of ``--sides`` x ``--seeds`` that has checkpoints."""
    rows = []
    for side in args.sides:
        for seed in args.seeds:
            folder = run_dir(args, side, seed)
            if not glob.glob(osp.join(folder, 'iter_*.pth')):
                say(f'{side} seed {seed}: no checkpoint in {folder}, nothing to score')
                continue
            say(f'{side} seed {seed}: scoring the checkpoints in {folder}')
            speed = seconds_per_iter(folder)
            for row in evaluate_run(side, folder, configs[side], args.num_eval, args.sample_models,
                                    args.iters if args.final_only else None):
                rows.append(
                    dict(
                        side=side,
                        seed=seed,
                        width=args.width,
                        num_eval=args.num_eval,
                        s_per_iter=speed,
                        **row))
    return rows


def read_csv(path: str) -> list:
    """The rows write_csv wrote, with their numbers as numbers."""
    if not osp.isfile(path):
        raise SystemExit(f'parity: --from-csv needs {path}, which does not exist')
    numbers = {'seed': int, 'width': int, 'iteration': int, 'num_eval': int}

    def value(key: str, text: str):
        if key in ('side', 'sample_model'):
            return text
        return None if text == '' else numbers.get(key, float)(text)  # '': s_per_iter of a run without log

    with open(path, newline='') as f:
        return [{k: value(k, v) for k, v in row.items()} for row in csv.DictReader(f)]


def write_csv(rows: list, path: str) -> None:
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: row[k] for k in COLUMNS} for row in rows)


def plot(rows: list, path: str) -> None:
    """FID against iterations: a colour per side, a line style per seed, a marker per sample model."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    runs = sorted({(r['side'], r['seed'], r['sample_model']) for r in rows})
    seeds = sorted({r['seed'] for r in rows})
    for side, seed, model in runs:
        points = sorted((r['iteration'], r['fid']) for r in rows
                        if (r['side'], r['seed'], r['sample_model']) == (side, seed, model))
        ax.plot(
            *zip(*points),
            color='C0' if side == 'ours' else 'C3',
            linestyle=['-', '--', ':', '-.'][seeds.index(seed) % 4],
            marker='o' if model == 'ema' else 's',
            label=f'{side}, seed {seed}, {model}')
    first = rows[0]
    ax.set(
        xlabel='iteration',
        ylabel=f'FID ({first["num_eval"]} samples)',
        title=f'SAGAN on Fashion-MNIST 32x32, width {first["width"]}: mmagic 1.2 vs ours')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary(rows: list) -> str:
    """A Markdown table: per iteration and sample model, each metric's mean ± std over seeds for each side,
    and Welch's p of ours against mmagic (two seeds a side at least)."""
    metrics = ('fid', 'kid', 'precision', 'recall')
    lines = [
        '| iteration | sample model | ' + ' | '.join(f'{m} ours | {m} mmagic | p' for m in metrics) + ' |',
        '|---|---|' + '---|---|---|' * len(metrics)
    ]
    for it, model in sorted({(r['iteration'], r['sample_model']) for r in rows}):
        cells = [str(it), model]
        for metric in metrics:
            sides = [[
                r[metric] for r in rows if (r['iteration'], r['sample_model'], r['side']) == (it, model, s)
            ] for s in SIDES]
            cells += [
                f'{np.mean(v):.4g} ± {np.std(v, ddof=1) if len(v) > 1 else 0:.2g}' if v else '–'
                for v in sides
            ]
            p = welch(*sides)['p'] if min(map(len, sides)) >= 2 else float('nan')
            cells.append('–' if np.isnan(p) else f'{p:.2f}')  # one seed, or no spread on either side
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def report(rows: list, out: str) -> None:
    """fid.png and summary.md in ``out``."""
    plot(rows, osp.join(out, 'fid.png'))
    with open(osp.join(out, 'summary.md'), 'w') as f:
        f.write(summary(rows))


def main() -> None:
    args = parse_args()
    if args.from_csv:
        return report(read_csv(osp.join(args.out, 'parity.csv')), args.out)
    os.makedirs(osp.join(args.work_dir, 'configs'), exist_ok=True)
    configs = write_configs(osp.join(args.work_dir, 'configs'), args.width, args.iters, args.interval)
    if not args.evaluate_only:
        for side in args.sides:
            for seed in args.seeds:
                train(args, configs[side], side, seed)
    rows = evaluate(args, configs)
    if not rows:
        raise SystemExit(f'parity: no checkpoints to score under {args.work_dir}')
    os.makedirs(args.out, exist_ok=True)
    write_csv(rows, osp.join(args.out, 'parity.csv'))
    report(rows, args.out)
    for side in args.sides:
        speeds = {r['seed']: r['s_per_iter'] for r in rows if r['side'] == side}
        say(f'{side}: seconds per iteration by seed {speeds}')
    say(f'{len(rows)} rows in {osp.join(args.out, "parity.csv")}, figure {osp.join(args.out, "fid.png")}')


if __name__ == '__main__':
    main()
