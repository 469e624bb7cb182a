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
(per arm, mean ± std over seeds of each run's best and final FID/KID; each arm against none and each
control against attention at its position, with Welch's p), ``fid.png`` (FID against iterations,
mean ± std), ``gamma.csv`` and ``gamma.png`` (γ of every attention layer against iterations) into ``--out``.
The CSVs are the record: a report keeps the rows of runs whose folders are gone (a fresh clone, another
machine), so what a session ran outlives its ``work_dirs``.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from ablation_report import all_results, by_arm, recorded, report, scalars  # next to this file

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs', 'sagan', 'ablation')
ATTENTION_ARMS = ['no_attention', 'attention_8', 'attention_16', 'attention_32']


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


def say(message: str) -> None:
    # one write per line: print() writes text and newline separately, and the --jobs threads interleave
    sys.stdout.write(f'[ablation] {message}\n')
    sys.stdout.flush()


def train(args, arm: str, seed: int) -> None:
    """One run through tools/train.py; afterwards result.json holds its final evaluation."""
    folder = run_dir(args, arm, seed)
    if osp.exists(osp.join(folder, 'result.json')):
        return say(f'{arm} seed {seed}: finished in {folder}, not repeated')
    if not osp.exists(folder) and any(r['finished'] and (r['arm'], r['seed']) == (arm, seed)
                                      for r in recorded(args, 'ablation.csv', present=set())):
        return say(f'{arm} seed {seed}: finished in {args.out}/ablation.csv, not repeated '
                   '(delete its rows to rerun it)')
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
    say(f'{arm} seed {seed}: {" ".join(cmd[1:])}')
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


def best_attention_position(args) -> int:
    runs = by_arm(all_results(args))
    fids = {a: statistics.mean(r['best_fid'] for r in runs[a]) for a in ATTENTION_ARMS[1:] if a in runs}
    return int(min(fids, key=fids.get).split('_')[1])


def main() -> None:
    args = parse_args()
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
            position = best_attention_position(args)
            say(f'the control at {position} px, the attention position with the lowest mean best FID')
            run_all(args, [f'residual_{position}'])
        else:
            run_all(args, [a for a in arms if a.startswith('residual')])
    report(args)


if __name__ == '__main__':
    main()
