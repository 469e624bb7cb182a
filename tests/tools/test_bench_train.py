"""The training benchmarks, at their smallest: both sides build from their configs, train, and the last line
is the machine-readable ratio line the README and the issue tracker quote."""
import re

from tests.conftest import run_python


def run_benchmark(script: str, *args: str) -> list:
    """The stdout lines of ``tools/benchmarks/<script>`` at 32x32 on one thread; it must succeed."""
    proc = run_python(f'tools/benchmarks/{script}', '--res', '32', '--batch', '2', '--threads', '1', *args)
    return proc.stdout.strip().splitlines()


def test_bench_train_prints_both_sides_and_the_ratio_line():
    lines = run_benchmark('bench_train.py', '--rounds', '1', '--steps', '1', '--memory-probes', '1',
                          '--peak-size', '256')
    assert any(line.startswith('| mmagic | 4.39 / 1.08 |') for line in lines)  # identical architectures
    assert any(line.startswith('| ours | 4.39 / 1.08 |') for line in lines)
    assert re.fullmatch(r'speedup_vs_mmagic=\d+\.\d\d memory_ratio_vs_mmagic=\d+\.\d\d', lines[-1])


def test_bench_live_memory_prints_both_sides_and_the_ratio_line():
    option = 'model.generator.recompute_activations=True'
    lines = run_benchmark('bench_live_memory.py', '--cfg-options', option)
    assert f'our config options: {option}' in lines[-4]
    for side, line in zip(('mmagic', 'ours'), lines[-3:-1]):
        assert re.fullmatch(side + r': peak live memory of a training iteration [1-9]\d* MiB', line)
    assert re.fullmatch(r'live_memory_ratio_vs_mmagic=\d+\.\d\d', lines[-1])
