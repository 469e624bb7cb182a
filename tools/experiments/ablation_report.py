"""The attention ablation's record: every evaluation and every γ of every run (read from the runs' logs, plus
the rows a committed CSV keeps of runs whose folders are gone), the per-arm summary table, the tests between
arms and the figures."""
import csv
import glob
import json
import os
import os.path as osp
import statistics
from collections import defaultdict

from ablation_plots import plot_fid, plot_gamma

from sagan_plugin.evaluation.uncertainty import welch

METRICS = ('best_fid', 'best_kid', 'fid', 'kid')  # each run's best and last evaluation
# The paper's Table 1 (ImageNet 128x128, FID / IS), for orientation only.
PAPER = {
    'no_attention': '22.96 / 42.87',
    'attention_8': '22.98 / 43.15',
    'attention_16': '22.14 / 45.94',
    'attention_32': '18.28 / 51.43',
    'attention_64': '18.65 / 52.52'
}


def scalars(folder: str) -> dict:
    """step -> {key: value} from every vis_data/scalars.json under a run folder (resumed: several)."""
    rows = defaultdict(dict)
    for path in sorted(glob.glob(osp.join(folder, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                rows[entry['step']].update(entry)
    return dict(rows)


def run_folders(args) -> list:
    """(arm, seed, folder) of every run under ``--work-dir``."""
    folders = sorted(glob.glob(osp.join(args.work_dir, '*', 'seed*')))
    return [(osp.basename(osp.dirname(d)), int(osp.basename(d)[4:]), d) for d in folders]


def run_rows(args) -> tuple:
    """Every evaluation (dicts of arm, seed, iter, fid, kid, finished) and every γ of every attention or
    control layer at every log line (dicts of arm, seed, iter, layer, gamma) of the runs under --work-dir."""
    evaluations, gammas = [], []
    for arm, seed, folder in run_folders(args):
        finished = osp.exists(osp.join(folder, 'result.json'))
        for step, row in sorted(scalars(folder).items()):
            if 'FID/fid' in row:
                evaluations.append(
                    dict(
                        arm=arm,
                        seed=seed,
                        iter=step,
                        fid=row['FID/fid'],
                        kid=row['FID/kid'],
                        finished=finished))
            gammas += [
                dict(arm=arm, seed=seed, iter=step, layer=key[len('gamma/'):], gamma=value)
                for key, value in sorted(row.items()) if key.startswith('gamma/')
            ]
    return evaluations, gammas


# column -> parser of a recorded CSV row; ``finished`` was written by csv as 'True'/'False'
COLUMNS = dict(
    arm=str, seed=int, iter=int, fid=float, kid=float, finished=lambda v: v == 'True', layer=str, gamma=float)


def recorded(args, name: str, present: set) -> list:
    """Rows of ``--out``'s CSV ``name`` for runs whose folders are not under ``--work-dir`` (run elsewhere,
    or deleted): a report from a fresh clone adds to the committed results instead of erasing them."""
    path = osp.join(args.out, name)
    if not osp.exists(path):
        return []
    with open(path, newline='') as f:
        rows = [{k: COLUMNS[k](v) for k, v in r.items()} for r in csv.DictReader(f)]
    return [r for r in rows if (r['arm'], r['seed']) not in present]


def with_recorded(args, name: str, rows: list) -> list:
    """The run folders' rows, after the recorded ones of runs that have no folder here."""
    present = {(arm, seed) for arm, seed, _ in run_folders(args)}
    return recorded(args, name, present) + rows


def all_results(args) -> list:
    return with_recorded(args, 'ablation.csv', run_rows(args)[0])


def write_csv(path: str, rows: list, fields: list) -> None:
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def by_arm(rows) -> dict:
    """arm -> one dict per finished run: ``best_fid``/``best_kid`` (the lowest of its evaluations, as the
    paper's Table 1 reports each run's best) and ``fid``/``kid`` (its last evaluation)."""
    runs = defaultdict(list)
    for row in rows:
        if row['finished']:
            runs[(row['arm'], row['seed'])].append(row)
    out = defaultdict(list)
    for (arm, _), evaluations in sorted(runs.items()):
        last = max(evaluations, key=lambda r: r['iter'])
        out[arm].append(
            dict(
                best_fid=min(r['fid'] for r in evaluations),
                best_kid=min(r['kid'] for r in evaluations),
                fid=last['fid'],
                kid=last['kid']))
    return dict(out)


def mean_std(values) -> str:
    """'mean ± std'; a single run's value alone (no spread to show)."""
    spread = f' ± {statistics.stdev(values):.2f}' if len(values) > 1 else ''
    return f'{statistics.mean(values):.2f}{spread}'


def arm_order(arm: str) -> tuple:
    """none first, then attention by position, then the controls."""
    return arm.startswith('residual'), arm != 'no_attention', len(arm), arm


def scaled(runs: list, key: str) -> list:
    """One value per run; KID ×1000, as the tables print it."""
    return [r[key] * (1000 if 'kid' in key else 1) for r in runs]


def summary_table(runs: dict) -> list:
    """Markdown lines: per arm, mean ± std over seeds of each run's best and final FID and KID."""
    lines = [
        '| arm | runs | FID, best of each run | KID ×1000, best | FID, final | KID ×1000, final | '
        'paper, ImageNet-128 FID / IS (best) |', '|---|---|---|---|---|---|---|'
    ]
    for arm in sorted(runs, key=arm_order):
        cells = [mean_std(scaled(runs[arm], key)) for key in METRICS]
        lines.append(f'| {arm} | {len(runs[arm])} | {" | ".join(cells)} | {PAPER.get(arm, "-")} |')
    return lines


def comparison_table(runs: dict) -> list:
    """Markdown lines: each attention arm against none, each control against attention at its position, as
    the difference of the means with Welch's t-test p (unequal variances; the seeds are not paired: a seed
    draws different numbers in different networks). No lines where no pair has two runs a side."""
    arms = sorted(runs, key=arm_order)
    pairs = [(a, 'no_attention') for a in arms if a.startswith('attention')]
    pairs += [(a, a.replace('residual', 'attention')) for a in arms if a.startswith('residual')]
    pairs = [(a, b) for a, b in pairs if b in runs and min(len(runs[a]), len(runs[b])) > 1]
    if not pairs:
        return []
    tests = len(pairs) * len(METRICS)
    lines = [
        '', f'Differences of the means, Welch\'s p in brackets ({tests} tests on a few runs a side: a rough '
        'guide; at p < 0.05 about one test in twenty comes out by chance):', '',
        '| comparison | runs | FID, best of each run | KID ×1000, best | FID, final | KID ×1000, final |',
        '|---|---|---|---|---|---|'
    ]
    for a, b in pairs:
        cells = []
        for key in METRICS:
            test = welch(scaled(runs[a], key), scaled(runs[b], key))
            cells.append(f'{test["difference"]:+.2f} (p {test["p"]:.2f})')
        lines.append(f'| {a} − {b} | {len(runs[a])} / {len(runs[b])} | {" | ".join(cells)} |')
    return lines


def report(args) -> None:
    evaluations, gammas = run_rows(args)  # one read of each run's logs
    rows = with_recorded(args, 'ablation.csv', evaluations)
    gamma_rows = with_recorded(args, 'gamma.csv', gammas)
    os.makedirs(args.out, exist_ok=True)
    write_csv(osp.join(args.out, 'ablation.csv'), rows, ['arm', 'seed', 'iter', 'fid', 'kid', 'finished'])
    write_csv(osp.join(args.out, 'gamma.csv'), gamma_rows, ['arm', 'seed', 'iter', 'layer', 'gamma'])
    runs = by_arm(rows)
    lines = summary_table(runs) + comparison_table(runs)
    with open(osp.join(args.out, 'summary.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    plot_fid([r for r in rows if r['finished']], osp.join(args.out, 'fid.png'))  # as the table: finished runs
    plot_gamma(gamma_rows, osp.join(args.out, 'gamma.png'))
    print(f'[ablation] wrote {args.out}/ablation.csv, gamma.csv, summary.md, fid.png, gamma.png')
