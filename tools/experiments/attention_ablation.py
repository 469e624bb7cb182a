"""The paper's attention ablation (Table 1) on Fashion-MNIST 32x32, rerunnable from one command.

    python tools/experiments/attention_ablation.py                      # everything; resumes where it stopped
    python tools/experiments/attention_ablation.py --report-only        # table, CSV and figures from what ran

Arms (configs/sagan/ablation/): no attention; self-attention after the 8, 16 and 32 px blocks of G and D;
then a parameter-matched local residual block in the attention slot at the best attention position (the
paper's control).
Each arm trains with every seed through the normal Runner (tools/train.py) and is evaluated by the config's
offline FID/KID (EMA generator, 1,000 samples against the 10,000 test images) every ``val_interval``.

Resumable: a finished run (``result.json`` in its folder, or recorded as finished in ``--out``'s
``ablation.csv``) is not repeated; an unfinished one continues with
``--resume`` from its last checkpoint. Writes ``ablation.csv`` (every evaluation of every run), ``summary.md``
(per arm, mean ± std over seeds of each run's best and final FID/KID), ``fid.png`` (FID against iterations,
mean ± std), ``gamma.csv`` and ``gamma.png`` (γ of every attention layer against iterations) into ``--out``.
The CSVs are the record: a report keeps the rows of runs whose folders are gone (a fresh clone, another
machine), so what a session ran outlives its ``work_dirs``.
"""
import argparse
import csv
import glob
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs', 'sagan', 'ablation')
ATTENTION_ARMS = ['no_attention', 'attention_8', 'attention_16', 'attention_32']
# The paper's Table 1 (ImageNet 128x128, FID / IS), for orientation only.
PAPER = {
    'no_attention': '22.96 / 42.87',
    'attention_8': '22.98 / 43.15',
    'attention_16': '22.14 / 45.94',
    'attention_32': '18.28 / 51.43',
    'attention_64': '18.65 / 52.52'
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'attention_ablation'))
    parser.add_argument('--out', default=osp.join(REPO, 'docs', 'ablation'), help='CSV, summary and figures')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--arms', nargs='+', help='run only these configs (default: all, residual last)')
    parser.add_argument('--jobs', type=int, default=2, help='runs at once (each with cores/jobs threads)')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='for every run')
    parser.add_argument('--report-only', action='store_true')
    return parser.parse_args()


def run_dir(args, arm: str, seed: int) -> str:
    return osp.join(args.work_dir, arm, f'seed{seed}')


def scalars(folder: str) -> dict:
    """step -> {key: value} from every vis_data/scalars.json under a run folder (resumed: several)."""
    rows = defaultdict(dict)
    for path in sorted(glob.glob(osp.join(folder, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                rows[entry['step']].update(entry)
    return dict(rows)


def train(args, arm: str, seed: int) -> None:
    """One run through tools/train.py; afterwards result.json holds its final evaluation."""
    folder = run_dir(args, arm, seed)
    if osp.exists(osp.join(folder, 'result.json')):
        return
    if not osp.exists(folder) and any(r['finished'] and (r['arm'], r['seed']) == (arm, seed)
                                      for r in recorded(args, 'ablation.csv', present=set())):
        print(
            f'[ablation] {arm} seed {seed}: finished in {args.out}/ablation.csv, not repeated '
            '(delete its rows to rerun it)',
            flush=True)
        return
    cmd = [
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'),
        osp.join(CONFIGS, f'{arm}.py'), '--work-dir', folder, '--cfg-options', f'randomness.seed={seed}',
        *args.cfg_options
    ]
    if osp.exists(osp.join(folder, 'last_checkpoint')):
        cmd.append('--resume')
    threads = str(max(1, (os.cpu_count() or 2) // args.jobs))
    log = osp.join(args.work_dir, f'{arm}_seed{seed}.out')
    os.makedirs(args.work_dir, exist_ok=True)
    print(f'[ablation] {arm} seed {seed}: {" ".join(cmd[1:])}', flush=True)
    with open(log, 'a') as out:
        proc = subprocess.run(
            cmd,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads))
    if proc.returncode != 0:
        raise RuntimeError(f'{arm} seed {seed} failed (exit {proc.returncode}); see {log}')
    evaluations = [(step, row) for step, row in sorted(scalars(folder).items()) if 'FID/fid' in row]
    step, final = evaluations[-1]
    with open(osp.join(folder, 'result.json'), 'w') as f:
        json.dump(dict(arm=arm, seed=seed, iter=step, fid=final['FID/fid'], kid=final['FID/kid']), f)


def run_all(args, arms) -> None:
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for future in [pool.submit(train, args, arm, seed) for arm in arms for seed in args.seeds]:
            future.result()


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


def best_attention_position(args) -> int:
    runs = by_arm(all_results(args))
    fids = {a: statistics.mean(r['best_fid'] for r in runs[a]) for a in ATTENTION_ARMS[1:] if a in runs}
    return int(min(fids, key=fids.get).split('_')[1])


def mean_std(values) -> str:
    """'mean ± std'; a single run's value alone (no spread to show)."""
    spread = f' ± {statistics.stdev(values):.2f}' if len(values) > 1 else ''
    return f'{statistics.mean(values):.2f}{spread}'


def report(args) -> None:
    from ablation_plots import plot_fid, plot_gamma  # noqa: E402  (next to this file)
    evaluations, gammas = run_rows(args)  # one read of each run's logs
    rows = with_recorded(args, 'ablation.csv', evaluations)
    gamma_rows = with_recorded(args, 'gamma.csv', gammas)
    os.makedirs(args.out, exist_ok=True)
    write_csv(osp.join(args.out, 'ablation.csv'), rows, ['arm', 'seed', 'iter', 'fid', 'kid', 'finished'])
    write_csv(osp.join(args.out, 'gamma.csv'), gamma_rows, ['arm', 'seed', 'iter', 'layer', 'gamma'])
    runs = by_arm(rows)
    lines = [
        '| arm | runs | FID, best of each run | KID ×1000, best | FID, final | KID ×1000, final | '
        'paper, ImageNet-128 FID / IS (best) |', '|---|---|---|---|---|---|---|'
    ]
    for arm in sorted(runs, key=lambda a: (a.startswith('residual'), a != 'no_attention', len(a), a)):
        cells = [
            mean_std([r[key] * (1000 if 'kid' in key else 1) for r in runs[arm]])
            for key in ('best_fid', 'best_kid', 'fid', 'kid')
        ]
        lines.append(f'| {arm} | {len(runs[arm])} | {" | ".join(cells)} | {PAPER.get(arm, "-")} |')
    with open(osp.join(args.out, 'summary.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    plot_fid([r for r in rows if r['finished']], osp.join(args.out, 'fid.png'))  # as the table: finished runs
    plot_gamma(gamma_rows, osp.join(args.out, 'gamma.png'))
    print(f'[ablation] wrote {args.out}/ablation.csv, gamma.csv, summary.md, fid.png, gamma.png')


def main() -> None:
    args = parse_args()
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    if not args.report_only:
        stats = [
            sys.executable,
            osp.join(REPO, 'tools', 'calc_inception_stats.py'),
            osp.join(CONFIGS, 'no_attention.py'), '--cfg-options', *args.cfg_options
        ]
        # the real statistics once, before parallel runs would each compute them
        subprocess.run(stats if args.cfg_options else stats[:-1], cwd=REPO, check=True)
        arms = args.arms or ATTENTION_ARMS
        run_all(args, [a for a in arms if not a.startswith('residual')])
        if args.arms is None:  # the control at the best attention position
            run_all(args, [f'residual_{best_attention_position(args)}'])
        else:
            run_all(args, [a for a in arms if a.startswith('residual')])
    report(args)


if __name__ == '__main__':
    main()
