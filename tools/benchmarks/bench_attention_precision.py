"""torch's CPU attention kernel in bf16 against fp32 by head width; ``CPU_FP32_MAX_HEAD_DIM`` is read off it.

    python tools/benchmarks/bench_attention_precision.py [--threads 1] [--reps 5]

For each case (B, N queries, M keys) and head width d, one forward+backward of
``F.scaled_dot_product_attention`` on bf16 inputs (cast from fp32 inside the timed step, as autocast does)
and on fp32 inputs; the median of ``--reps`` steps after one warm-up. The cases are the attention maps of the
ablation (8-32 px, batch 64) and of the 128² benchmark (64×64 queries, pooled keys, batch 8). The last column
is what ``sagan_plugin.models.self_attention._attend`` runs under bf16 autocast on a CPU.
"""
import argparse

import torch
import torch.nn.functional as F
from timing import repeat

from sagan_plugin.models.self_attention import CPU_FP32_MAX_HEAD_DIM

CASES = ((64, 64, 64), (64, 256, 256), (64, 1024, 1024), (8, 4096, 1024))  # (B, N, M)
HEAD_DIMS = (2, 4, 8, 16, 32, 64, 128)


def step_ms(batch: int, queries: int, keys: int, dim: int, dtype: torch.dtype, reps: int) -> float:
    """Median milliseconds of one forward+backward of single-head attention."""
    q, k, v = (torch.randn(batch, 1, n, dim, requires_grad=True) for n in (queries, keys, keys))

    def step() -> None:
        out = F.scaled_dot_product_attention(q.to(dtype), k.to(dtype), v.to(dtype), scale=1.0)
        out.float().sum().backward()

    return sorted(t.wall for t in repeat(step, reps, warmup=1))[reps // 2] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--threads', type=int, default=1, help='CPU threads (torch.set_num_threads)')
    parser.add_argument('--reps', type=int, default=5, help='timed steps per figure (median)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f'forward+backward on the CPU, torch {torch.__version__}, {args.threads} thread(s)')
    print(
        f'{"B":>4}{"N":>6}{"M":>6}{"d":>5}{"bf16 ms":>10}{"fp32 ms":>10}{"fp32/bf16":>11}  _attend under bf16'
    )
    for batch, queries, keys in CASES:
        for dim in HEAD_DIMS:
            bf16, fp32 = (
                step_ms(batch, queries, keys, dim, dtype, args.reps)
                for dtype in (torch.bfloat16, torch.float32))
            choice = 'fp32' if dim <= CPU_FP32_MAX_HEAD_DIM else 'bf16'
            row = f'{batch:>4}{queries:>6}{keys:>6}{dim:>5}{bf16:>10.1f}{fp32:>10.1f}{fp32 / bf16:>11.2f}'
            print(f'{row}  {choice}')


if __name__ == '__main__':
    main()
