"""The training benchmarks, at their smallest: both sides build from their configs, train, and the last line
is the machine-readable ratio line the README and the issue tracker quote."""
import re
import subprocess
import sys

from tests.conftest import REPO


def test_bench_train_prints_both_sides_and_the_ratio_line():
    proc = subprocess.run([
        sys.executable, 'tools/benchmarks/bench_train.py', '--res', '32', '--batch', '2', '--rounds', '1',
        '--steps', '1', '--threads', '1', '--memory-probes', '1'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert any(line.startswith('| mmagic | 4.39 / 1.08 |') for line in lines)  # identical architectures
    assert any(line.startswith('| ours | 4.39 / 1.08 |') for line in lines)
    assert re.fullmatch(r'speedup_vs_mmagic=\d+\.\d\d memory_ratio_vs_mmagic=\d+\.\d\d', lines[-1])


def test_bench_live_memory_prints_both_sides_and_the_ratio_line():
    proc = subprocess.run([
        sys.executable, 'tools/benchmarks/bench_live_memory.py', '--res', '32', '--batch', '2', '--threads',
        '1', '--cfg-options', 'model.generator.recompute_activations=True'
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert 'our config options: model.generator.recompute_activations=True' in lines[-4]
    for side, line in zip(('mmagic', 'ours'), lines[-3:-1]):
        assert re.fullmatch(side + r': peak live memory of a training iteration [1-9]\d* MiB', line)
    assert re.fullmatch(r'live_memory_ratio_vs_mmagic=\d+\.\d\d', lines[-1])
