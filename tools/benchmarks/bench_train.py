"""Training speed and memory of our SAGAN against mmagic 1.2's, at the identical architecture, side by side.

    python tools/benchmarks/bench_train.py --res 32 --batch 64            # mmagic's CIFAR SAGAN
    python tools/benchmarks/bench_train.py --res 128 --batch 8 --precision bf16
    python tools/benchmarks/bench_train.py --res 128 --batch 64 --device cuda --precision bf16 --compile

Both models are built from their own configs: mmagic's ``sagan_woReLUinplace_*`` configs and ours that
reproduce them exactly (``configs/sagan_mmagic_*.py``, checked by tests/converters/test_mmagic.py; equal
parameter counts are printed). Both train on the same real batch (Fashion-MNIST resized to the resolution,
mmagic's DataPreprocessor) with the same update rule: one D step and one G step per iteration, Adam with each
config's learning rates. mmagic always runs in fp32; ``--precision bf16`` runs ours under ``AmpOptimWrapper``
(bf16 autocast, also on CPU). Rounds alternate between the two (medians reported), so machine load hits both
alike. ``--keep-freed-memory`` sets glibc's malloc as our tools/train.py does by default
(``env_cfg.keep_freed_memory``) for both sides, so the ratio is like for like with and without it.

Printed per side: images/s; the time split (D step with its no-grad G forward, G step, and a separate
no-grad G forward); FLOPs per image of one training iteration (``torch.utils.flop_counter``) and the resulting
fraction of a matrix-product peak measured in the same run (MFU); peak memory of a step — on CUDA
``max_memory_allocated``, on CPU the peak resident set over the resident set before the first step, each side
in fresh processes, alternating, median of ``--memory-probes`` (a CPU peak moves by ±10% between probes; it
includes gradients and Adam state, equal for both). The last line is machine-readable:
``speedup_vs_mmagic=<x.xx> memory_ratio_vs_mmagic=<y.yy>``.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
from typing import Optional

import torch
from sides import OUR_CONFIG, Side
from timing import repeat

from sagan_plugin.engine.cfg_options import CfgOptionsAction
from sagan_plugin.engine.launch import keep_freed_memory

PEAK_SIZE = dict(cpu=4096, cuda=8192)  # matrix side for the peak: 4096² takes a fraction of a ms on a GPU


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--res', type=int, choices=sorted(OUR_CONFIG), default=32)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument(
        '--precision', choices=['fp32', 'bf16'], default='fp32', help='ours; mmagic stays fp32')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--rounds', type=int, default=5, help='alternating rounds; medians are reported')
    parser.add_argument('--steps', type=int, default=2, help='timed training iterations per round and side')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads(), help='CPU threads')
    parser.add_argument(
        '--peak-size',
        type=int,
        default=None,
        help='matrix side of the matmul peak (default: PEAK_SIZE); '
        'a CPU without a bf16 matmul kernel takes minutes at 4096')
    parser.add_argument('--compile', action='store_true', help='our model with compile=True')
    parser.add_argument(
        '--keep-freed-memory',
        action='store_true',
        help='both sides: glibc keeps freed memory (what our tools/train.py does by default)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=CfgOptionsAction,
        default={},
        help='overrides of our config, e.g. model.channels_last=False')
    parser.add_argument(
        '--memory-probes', type=int, default=3, help='fresh-process memory probes per side (median reported)')
    parser.add_argument('--memory-probe', choices=['ours', 'mmagic'], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def matmul_peak(device: str, dtype: torch.dtype, repeats: int = 4, size: Optional[int] = None) -> float:
    """Best-of-``repeats`` FLOP/s of a square matrix product: the machine's practical peak. On CUDA fp32 is
    TF32's, as cuDNN runs fp32 convs by default."""
    size, allow_tf32 = size or PEAK_SIZE[device], torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = True
    a, b = (torch.randn(size, size, device=device, dtype=dtype) for _ in range(2))
    best = min(t.wall for t in repeat(lambda: a @ b, repeats, warmup=1, device=device))
    torch.backends.cuda.matmul.allow_tf32 = allow_tf32
    return 2 * size**3 / best


def memory_probe(args: argparse.Namespace) -> None:
    """In a fresh process: peak memory of ``args.steps`` iterations of one side, printed as JSON."""
    side = Side(args.memory_probe, args)
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _rss('VmRSS')
    for _ in range(args.steps):
        side.step()
    peak = torch.cuda.max_memory_allocated() - base if args.device == 'cuda' else _rss('VmHWM') - base
    print(json.dumps(dict(peak_bytes=peak)))


def _rss(field: str) -> int:
    """Resident set (VmRSS) or its high-water mark (VmHWM) of this process, in bytes (Linux)."""
    with open('/proc/self/status') as f:
        line = next(line for line in f if line.startswith(field + ':'))
    return int(line.split()[1]) * 1024


def measure_memory(args: argparse.Namespace, side: str) -> int:
    cmd = [sys.executable, osp.abspath(__file__), *sys.argv[1:], '--memory-probe', side]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONWARNINGS='ignore'))
    if proc.returncode != 0:
        raise RuntimeError(f'memory probe of {side} failed:\n{proc.stderr[-2000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])['peak_bytes']


def report(args, sides, rounds, flops, peaks, peak_rates) -> None:
    print(f'# {args.res}x{args.res}, batch {args.batch}, {args.device} ({args.threads} threads), ours in '
          f'{args.precision}{" + compile" if args.compile else ""}, mmagic in fp32; {args.rounds} rounds x '
          f'{args.steps} iterations, medians (memory: of {args.memory_probes} probes); malloc: '
          f'{"keeps freed memory (both)" if args.keep_freed_memory else "glibc default (both)"}')
    params = {
        n: (sum(p.numel() for p in s.model.generator.parameters()) / 1e6,
            sum(p.numel() for p in s.model.discriminator.parameters()) / 1e6)
        for n, s in sides.items()
    }
    peak = peak_rates['bf16' if args.precision == 'bf16' else 'fp32']
    rows = {}
    for name, side in sides.items():
        sec = statistics.median(rounds[name])
        split = {k: statistics.median(v[1:]) for k, v in side.split.items()}
        rows[name] = dict(
            img_s=args.batch / sec,
            sec=sec,
            **split,
            g_fwd=statistics.median(side.g_fwd),
            gflop_img=flops[name] / 1e9,
            mfu=flops[name] * args.batch / sec / peak,
            mem_gb=peaks[name] / 2**30,
            params=params[name])
    print(
        '| side | G/D params (M) | images/s | s/iter | D step | G step | G fwd (no grad) | GFLOP/img | MFU | '
        'step memory (GB) |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for name, r in rows.items():
        print(f'| {name} | {r["params"][0]:.2f} / {r["params"][1]:.2f} | {r["img_s"]:.2f} | {r["sec"]:.3f} | '
              f'{r["D step"]:.3f} | {r["G step"]:.3f} | {r["g_fwd"]:.3f} | {r["gflop_img"]:.2f} | '
              f'{100 * r["mfu"]:.1f}% | {r["mem_gb"]:.2f} |')
    rates = ', '.join(f'{p} {peak_rates[p] / 1e9:.0f} GFLOP/s' for p in ('fp32', 'bf16'))
    print(f'matrix-product peak ({PEAK_SIZE[args.device]}², {args.device}): {rates}; MFU uses the '
          f'{args.precision} peak')
    speedup = rows['ours']['img_s'] / rows['mmagic']['img_s']
    print(f'speedup_vs_mmagic={speedup:.2f} memory_ratio_vs_mmagic={peaks["ours"] / peaks["mmagic"]:.2f}')


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.device == 'cuda':
        torch.backends.cudnn.benchmark = True  # as both sides' training configs (env_cfg.cudnn_benchmark)
    if args.keep_freed_memory:
        keep_freed_memory()
    if args.memory_probe:
        return memory_probe(args)
    sides = {name: Side(name, args) for name in ('mmagic', 'ours')}
    for side in sides.values():  # warm-up: Adam state, oneDNN primitives, compilation
        side.step()
        side.step()
    rounds = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, side in sides.items():
            rounds[name].append(side.timed_round(args.steps))
            side.g_fwd = getattr(side, 'g_fwd', []) + [side.generator_forward()]
    flops = {name: side.flops_per_image() for name, side in sides.items()}
    peak_rates = {
        p: matmul_peak(args.device, d, size=args.peak_size)
        for p, d in (('fp32', torch.float32), ('bf16', torch.bfloat16))
    }
    probes = {name: [] for name in sides}
    for _ in range(args.memory_probes):  # alternating, as the timed rounds
        for name in sides:
            probes[name].append(measure_memory(args, name))
    peaks = {name: statistics.median(values) for name, values in probes.items()}
    report(args, sides, rounds, flops, peaks, peak_rates)


if __name__ == '__main__':
    main()
