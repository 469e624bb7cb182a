"""Where a training iteration of our SAGAN spends its time: torch.profiler's top operators, on CPU or a GPU.

    python tools/benchmarks/profile_step.py --res 128 --batch 64 --device cuda --precision bf16

Takes bench_train.py's arguments and builds the same model, batch, precision and update rule (sides.py);
profiles ``--steps`` iterations after three warm-up ones (Adam state, cuDNN autotuning, compiling) and prints
the operators that take the most time of their own (device time on a GPU, CPU time on a CPU).
"""
import torch
from bench_train import parse_args
from sides import Side
from torch.profiler import ProfilerActivity, profile


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.device == 'cuda':
        torch.backends.cudnn.benchmark = True  # as bench_train.py and both training configs
    side = Side('ours', args)
    for _ in range(3):
        side.step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if args.device == 'cuda' else [])
    with profile(activities=activities) as prof:
        seconds = side.timed_round(args.steps)
    print(f'# ours, {args.res}x{args.res}, batch {args.batch}, {args.device}, {args.precision}: '
          f'{seconds:.3f} s/iteration under the profiler, {args.steps} iterations')
    key = 'self_device_time_total' if args.device == 'cuda' else 'self_cpu_time_total'
    print(prof.key_averages().table(sort_by=key, row_limit=25))


if __name__ == '__main__':
    main()
