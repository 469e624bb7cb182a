"""The command-line tools users run: torchrun on CPU, mmagic's own train.py, and tools/test.py errors."""
import os
import os.path as osp
import random
import subprocess
import sys

import mmagic

from tests.conftest import REPO

TINY = osp.join(REPO, 'tests', 'data', 'tiny_demo.py')


def run(cmd, **env):
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, PYTHON=sys.executable, **env))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_dist_train_two_cpu_processes(tmp_path):
    run(['bash', 'tools/dist_train.sh', TINY, '2', '--work-dir', str(tmp_path)], PORT=str(random.randint(20000, 40000)))
    assert (tmp_path / 'iter_4.pth').is_file()
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log and "dist_cfg: {'backend': 'gloo'}" in log
    assert 'Iter(train) [4/4]' in log


def test_mmagic_train_script_runs_our_config(tmp_path):
    script = osp.join(osp.dirname(mmagic.__file__), '.mim', 'tools', 'train.py')
    run([sys.executable, script, TINY, '--work-dir', str(tmp_path)])
    assert (tmp_path / 'iter_4.pth').is_file()


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, 'tools/train.py', TINY, '--work-dir', str(tmp_path), '--resume'],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0 and 'no checkpoint in' in proc.stderr
