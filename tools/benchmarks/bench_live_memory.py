"""Peak live memory of one training iteration on a CPU, ours against mmagic's SAGAN, side by side.

    python tools/benchmarks/bench_live_memory.py --res 32 --batch 64
    python tools/benchmarks/bench_live_memory.py --res 32 --batch 64 \
        --cfg-options model.generator.recompute_activations=True

``bench_train.py``'s memory column is the peak resident set, which also holds what malloc keeps after a free
and what fragmentation wastes: it moves by ±10% between fresh processes and can hide a real change. This
measures what ``torch.cuda.max_memory_allocated`` measures on a GPU (``live_memory.py``): the bytes malloc
has handed out and not got back, sampled after every aten op of the forward and backward passes of one
iteration, above the bytes in use when the iteration starts. Each side runs two
warm-up iterations first (Adam state, oneDNN's primitive caches), so the figure is the activations,
gradients and temporaries of a step; it repeats to within a few MB. Arguments and models as in
``bench_train.py`` (same configs, batch and update rule). glibc only.
"""
import sys

import torch
from bench_train import parse_args
from live_memory import PeakInUse, bytes_in_use
from sides import Side

from sagan_plugin.engine.launch import keep_freed_memory


def live_peak(side: Side) -> int:
    """Peak bytes in use during one training iteration, above those in use at its start."""
    side.step()
    side.step()
    start = bytes_in_use()
    with PeakInUse() as mode:
        side.step()
    return mode.peak - start


def main() -> None:
    args = parse_args()
    if args.device != 'cpu':
        sys.exit('bench_live_memory.py measures CPU memory; on a GPU bench_train.py reports '
                 'torch.cuda.max_memory_allocated')
    torch.set_num_threads(args.threads)
    if args.keep_freed_memory:
        keep_freed_memory()
    peaks = {name: live_peak(Side(name, args)) for name in ('mmagic', 'ours')}
    options = ' '.join(f'{k}={v}' for k, v in args.cfg_options.items()) or 'none'
    print(f'# {args.res}x{args.res}, batch {args.batch}, ours in {args.precision}, mmagic in fp32; '
          f'our config options: {options}')
    for name, peak in peaks.items():
        print(f'{name}: peak live memory of a training iteration {peak / 2**20:.0f} MiB')
    print(f'live_memory_ratio_vs_mmagic={peaks["ours"] / peaks["mmagic"]:.2f}')


if __name__ == '__main__':
    main()
