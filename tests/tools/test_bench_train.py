"""The training benchmark, at its smallest: both sides build from their configs, train, and the last line is
the machine-readable ratio line the README and the issue tracker quote."""
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
