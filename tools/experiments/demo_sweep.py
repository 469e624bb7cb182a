"""The demo's recipe by measurement: train named variants of the demo config and record each one's FID.

    python tools/experiments/demo_sweep.py ARM [ARM ...] --seeds 0 1 2 [--out docs/demo_sweep/runs.csv]
    python tools/experiments/demo_sweep.py --list

Each run is ``tools/train.py configs/sagan_demo_fashion32.py --cfg-options <the arm's options>
randomness.seed=S`` in ``work_dirs/demo_sweep/ARM_sS``: the demo's own training and its own evaluation at
the end (1,000 EMA samples against the first 1,000 test images). A row per run goes to the CSV: the arm,
seed, iterations, the whole command's wall time (training, evaluation and start-up, as a user waits for
it) and the metrics of the log's last evaluation. Wall times are only comparable between runs on the same
idle machine.
"""
import argparse
import csv
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'configs/sagan_demo_fashion32.py'
WIDE_G = 'model.generator.channels=(256,128,64,32)'
WIDE_D = 'model.discriminator.channels=(32,64,128,256)'
CURVE = ['train_cfg.max_iters=2000', 'train_cfg.val_interval=500', 'default_hooks.checkpoint.interval=500']
# The demo until 2026-12-07 (tapered widths, the paper's attention, 1,500 iterations): the records of that
# config (model card, docs/demo_sweep/README.md) are reproduced by the arms built on it.
TAPERED = [
    'model.generator.channels=(128,64,32,16)', 'model.discriminator.channels=(16,32,64,128)',
    'model.generator.attention_variant=paper', 'model.discriminator.attention_variant=paper',
    'train_cfg.max_iters=1500', 'train_cfg.val_interval=1500'
]
# Each arm: cfg-options on top of the demo config (and '--amp' for bf16); a later option overrides an
# earlier one. Names say what differs.
ARMS: Dict[str, List[str]] = {
    'demo': [],
    'demo_curve': CURVE,  # FID every 500 iterations to 2,000: FID against training time
    'bf16': ['--amp'],
    'paper_lr': ['optim_wrapper.generator_lr=1e-4', 'optim_wrapper.discriminator_lr=4e-4'],
    'tapered_1500': TAPERED,  # the earlier demo
    'wide_gd_curve': [*TAPERED, WIDE_G, WIDE_D, *CURVE],  # the earlier demo at 2x its channels, curve
    'wide_gd_bf16': ['--amp', *TAPERED, WIDE_G, WIDE_D],
}
METRICS = ('fid', 'kid', 'precision', 'recall')


def last_metrics(work_dir: str) -> Dict[str, str]:
    """The last evaluation's FID/* values in the newest log of ``work_dir``."""
    logs = sorted(
        p for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d))
        for p in [osp.join(work_dir, d, f'{d}.log')] if osp.exists(p))
    text = open(logs[-1]).read() if logs else ''
    found = {m: re.findall(rf'FID/{m}: ([-\d.e]+)', text) for m in METRICS}
    return {m: values[-1] if values else '' for m, values in found.items()}


def run(arm: str, seed: int, out: str) -> dict:
    """Train and evaluate one arm with one seed; returns the CSV row."""
    options = [o for o in ARMS[arm] if o != '--amp'] + [f'randomness.seed={seed}']
    work_dir = osp.join('work_dirs', 'demo_sweep', f'{arm}_s{seed}')
    cmd = [
        sys.executable, 'tools/train.py', CONFIG, '--work-dir', work_dir, *['--amp'] * ('--amp' in ARMS[arm])
    ]
    cmd += ['--cfg-options', *options]
    start = time.time()
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    ran = Config.fromfile(osp.join(REPO, work_dir, osp.basename(CONFIG)))  # the merged config the run dumped
    row = dict(
        arm=arm,
        seed=seed,
        iters=ran.train_cfg.max_iters,
        wall_s=f'{time.time() - start:.0f}',
        **last_metrics(osp.join(REPO, work_dir)),
        command=' '.join(cmd[1:]))
    # every evaluation of a curve arm is in its log: grep 'Iter(val)' work_dirs/demo_sweep/ARM_sS/*/*.log
    new = not osp.exists(out)
    with open(out, 'a', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('arms', nargs='*', metavar='ARM', help='names from --list')
    parser.add_argument('--seeds', type=int, nargs='+', default=[2022], help="2022: the demo config's seed")
    parser.add_argument('--out', default='docs/demo_sweep/runs.csv')
    parser.add_argument('--list', action='store_true', help='print the arms and their options')
    args = parser.parse_args()
    if args.list or not args.arms:
        for name, options in ARMS.items():
            print(f'{name:14s} {" ".join(options) or "(the demo as it is)"}')
        return
    unknown = [arm for arm in args.arms if arm not in ARMS]
    if unknown:
        parser.error(f'unknown arm(s) {unknown}; known: {list(ARMS)}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    for arm in args.arms:
        for seed in args.seeds:
            run(arm, seed, args.out)


if __name__ == '__main__':
    main()
