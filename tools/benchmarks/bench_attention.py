"""Time and peak memory of one forward+backward through SAGAN self-attention blocks, side by side.

    python tools/benchmarks/bench_attention.py [--iters 5] [--batch 8] [--threads 1]

Compared, at a 64×64 feature map with C=128 and a 32×32 one with C=256 (the widths G and D use there at
128×128 with base_channels=64):

- mmagic 1.2's ``SelfAttentionBlock`` (``mmagic.models.editors.biggan.biggan_modules``, the block that
  ``type='SelfAttentionBlock'`` builds in mmagic's SAGAN/BigGAN configs; pooled form, explicit attention map);
- ours, ``variant='paper'`` and ``variant='pooled'``, fused SDPA path (no map);
- ours paper with ``return_attention=True`` (explicit N×N map), to show what the fused path saves.

Each (implementation, case) runs in a fresh subprocess: one warm-up step (oneDNN's primitives, the first
power iteration), then one step whose peak memory above the bytes in use before it is reported, gradients
included: ``torch.cuda.max_memory_allocated`` on CUDA, the same count of live bytes on CPU
(``live_memory.py``; until 2026-12-05 the growth of the peak resident set, which also counted what malloc
kept after frees). Times are the best of ``--iters`` further steps: wall clock, and process CPU time. The
time ratio ours / mmagic's uses CPU time on CPU (wall clock is at the mercy of other jobs on a shared machine)
and wall time on CUDA. CPU runs default to one thread, because idle OpenMP workers spin and bill CPU time
that is not work.
"""
import argparse
import json
import subprocess
import sys
from typing import Callable, Dict, Tuple

import torch
from live_memory import PeakInUse, bytes_in_use
from timing import repeat

CASES = ((64, 128), (32, 256))  # (feature-map side, channels)
IMPLEMENTATIONS = ('mmagic', 'paper', 'pooled', 'paper-explicit-map')
LABELS = {
    'mmagic': 'mmagic SelfAttentionBlock (pooled, map)',
    'paper': 'ours paper (SDPA)',
    'pooled': 'ours pooled (SDPA, zero-pad q/k)',
    'paper-explicit-map': 'ours paper (return_attention=True)',
}


def _build(impl: str, channels: int) -> Tuple[torch.nn.Module, Callable[[torch.Tensor], torch.Tensor]]:
    """The block to benchmark and the forward to time on it."""
    if impl == 'mmagic':
        from mmagic.models.editors.biggan.biggan_modules import SelfAttentionBlock as MMagicBlock
        block = MMagicBlock(channels)
        return block, block
    from sagan_plugin.models.self_attention import SelfAttentionBlock
    block = SelfAttentionBlock(channels, 'paper' if impl.startswith('paper') else 'pooled')
    if impl == 'paper-explicit-map':
        return block, lambda x: block(x, return_attention=True)[0]
    return block, block


def measure(impl: str, side: int, channels: int, batch: int, iters: int) -> Dict[str, float]:
    """One implementation on one case, in this process: best ms per forward+backward, and peak MiB."""
    cuda = torch.cuda.is_available()
    device = 'cuda' if cuda else 'cpu'
    torch.manual_seed(0)
    block, forward = _build(impl, channels)
    block.to(device)
    x = torch.randn(batch, channels, side, side, device=device, requires_grad=True)

    def step() -> None:
        x.grad = None
        block.zero_grad(set_to_none=True)  # as a training step: its gradients are new tensors
        forward(x).sum().backward()
        if cuda:
            torch.cuda.synchronize()

    step()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        step()
        peak = (torch.cuda.max_memory_allocated() - before) / 2**20
    else:
        before = bytes_in_use()
        with PeakInUse() as mode:
            step()
        peak = (mode.peak - before) / 2**20
    times = repeat(step, iters, warmup=0)  # step() synchronises itself
    wall, cpu = [t.wall for t in times], [t.cpu for t in times]
    # Best step, not the mean: other jobs on a shared machine only ever add time.
    best = min(wall) if cuda else min(cpu)
    return dict(wall_ms=min(wall) * 1000, cpu_ms=min(cpu) * 1000, ms=best * 1000, mib=peak)


def _run_child(impl: str, side: int, channels: int, args: argparse.Namespace) -> Dict[str, float]:
    cmd = [
        sys.executable, __file__, '--child', f'{impl}:{side}:{channels}', '--iters',
        str(args.iters), '--batch',
        str(args.batch), '--threads',
        str(args.threads)
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _print_table(results: Dict[Tuple[int, int, str], Dict[str, float]], batch: int) -> None:
    header = (f'{"feature map":<22}{"implementation":<40}{"wall ms":>9}{"cpu ms":>9}{"peak MiB":>10}'
              f'{"t/mmagic":>10}{"mem/mmagic":>12}')
    print(header + '\n' + '-' * len(header))
    for side, channels in CASES:
        ref = results[side, channels, 'mmagic']
        for impl in IMPLEMENTATIONS:
            r = results[side, channels, impl]
            case = f'{side}x{side}, C={channels}, B={batch}' if impl == 'mmagic' else ''
            print(f'{case:<22}{LABELS[impl]:<40}{r["wall_ms"]:>9.1f}{r["cpu_ms"]:>9.1f}{r["mib"]:>10.1f}'
                  f'{r["ms"] / ref["ms"]:>10.2f}{r["mib"] / max(ref["mib"], 1e-9):>12.2f}')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--iters', type=int, default=5, help='timed steps after the first (memory) step')
    parser.add_argument('--batch', type=int, default=8, help='batch size B')
    parser.add_argument('--threads', type=int, default=1, help='CPU threads (torch.set_num_threads)')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        impl, side, channels = args.child.split(':')
        print(json.dumps(measure(impl, int(side), int(channels), args.batch, args.iters)))
        return
    cpu = f'CPU, {torch.get_num_threads()} threads'
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else cpu
    print(f'forward+backward, torch {torch.__version__}, {device}')
    results = {
        (side, channels, impl): _run_child(impl, side, channels, args)
        for side, channels in CASES
        for impl in IMPLEMENTATIONS
    }
    _print_table(results, args.batch)


if __name__ == '__main__':
    main()
