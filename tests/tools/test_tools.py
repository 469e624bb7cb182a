"""The command-line tools users run: torchrun on CPU, mmagic's own train.py, and tools/test.py errors."""
import json
import os
import os.path as osp
import subprocess
import sys

import mmagic

from tests.conftest import REPO, free_port

TINY = osp.join(REPO, 'tests', 'data', 'tiny_demo.py')


def run(cmd, **env):
    proc = subprocess.run(
        cmd,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, PYTHON=sys.executable, **env))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_dist_train_two_cpu_processes(tmp_path):
    run(['bash', 'tools/dist_train.sh', TINY, '2', '--work-dir', str(tmp_path)], PORT=str(free_port()))
    assert (tmp_path / 'iter_4.pth').is_file()
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log and "dist_cfg: {'backend': 'gloo'}" in log
    assert 'Iter(train) [4/4]' in log


def test_mmagic_train_script_runs_our_config(tmp_path):
    script = osp.join(osp.dirname(mmagic.__file__), '.mim', 'tools', 'train.py')
    run([sys.executable, script, TINY, '--work-dir', str(tmp_path)])
    assert (tmp_path / 'iter_4.pth').is_file()


def test_resume_without_checkpoint_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, 'tools/train.py', TINY, '--work-dir',
                           str(tmp_path), '--resume'],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode != 0 and 'no checkpoint in' in proc.stderr


DEMO = osp.join(REPO, 'configs', 'sagan_demo_fashion32.py')
NO_VAL = ['val_dataloader=None', 'val_cfg=None', 'val_evaluator=None']


def test_test_script_writes_metrics_offline(tmp_path):
    """Two demo iterations, then tools/test.py with the demo's evaluator at tiny sample counts."""
    run([
        sys.executable, 'tools/train.py', DEMO, '--work-dir',
        str(tmp_path), '--cfg-options', 'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2',
        'default_hooks.visualization.interval=2', 'train_dataloader.dataset.num_samples=100', *NO_VAL
    ])
    out = tmp_path / 'metrics.json'
    run([
        sys.executable, 'tools/test.py', DEMO,
        str(tmp_path / 'iter_2.pth'), '--out',
        str(out), '--work-dir',
        str(tmp_path), '--cfg-options', 'test_evaluator.metrics.0.fake_nums=20',
        'test_evaluator.metrics.0.real_nums=20',
        f'test_evaluator.metrics.0.inception_pkl={tmp_path}/real20.pkl',
        'test_evaluator.metrics.0.kid.subset_size=10', 'test_evaluator.metrics.0.kid.subsets=5',
        'test_evaluator.metrics.1.fake_nums=20', 'test_evaluator.metrics.1.splits=2'
    ])
    metrics = json.loads(out.read_text())
    assert metrics['FID/fid'] > 0 and 0 <= metrics['FID/precision'] <= 1
    assert metrics['ClassifierScore-EffNetLite0-NOT-IS/classifier_score'] >= 1


def test_test_script_refuses_a_checkpoint_of_another_architecture(tmp_path):
    run([sys.executable, 'tools/train.py', TINY, '--work-dir', str(tmp_path)])
    proc = subprocess.run([sys.executable, 'tools/test.py', DEMO,
                           str(tmp_path / 'iter_4.pth')],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode != 0 and 'size mismatch' in proc.stderr
