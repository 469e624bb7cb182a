"""The command-line tools users run: mmagic's own train.py, tools/test.py, and what each says to a wrong call.

(Distributed runs on CPU: tests/reliability/test_distributed.py.)
"""
import json
import os.path as osp

import mmagic
import pytest
import torch

from tests.conftest import REPO, run_command, run_python, run_tool

TINY = osp.join(REPO, 'tests', 'data', 'tiny_demo.py')


def test_mmagic_train_script_runs_our_config(tmp_path):
    script = osp.join(osp.dirname(mmagic.__file__), '.mim', 'tools', 'train.py')
    run_python(script, TINY, '--work-dir', tmp_path, timeout=900)
    assert (tmp_path / 'iter_4.pth').is_file()


def test_resume_without_checkpoint_is_a_clear_error(monkeypatch, tmp_path):
    with pytest.raises(FileNotFoundError, match='no checkpoint in'):
        run_tool(monkeypatch, 'train.py', TINY, '--work-dir', tmp_path, '--resume')


DEMO = osp.join(REPO, 'configs', 'sagan_demo_fashion32.py')
NO_VAL = ['val_dataloader=None', 'val_cfg=None', 'val_evaluator=None']


def test_test_script_writes_metrics_offline(tmp_path):
    """Two demo iterations, then tools/test.py with the demo's evaluator at tiny sample counts."""
    short = [
        'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2', 'custom_hooks.0.interval=2',
        'train_dataloader.dataset.num_samples=100', *NO_VAL
    ]
    run_python('tools/train.py', DEMO, '--work-dir', tmp_path, '--cfg-options', *short, timeout=900)
    out = tmp_path / 'metrics.json'
    tiny_eval = [
        '--cfg-options', 'test_evaluator.metrics.0.fake_nums=20', 'test_evaluator.metrics.0.real_nums=20',
        f'test_evaluator.metrics.0.inception_pkl={tmp_path}/real20.pkl',
        'test_evaluator.metrics.0.kid.subset_size=10', 'test_evaluator.metrics.0.kid.subsets=5',
        'test_evaluator.metrics.1.fake_nums=20', 'test_evaluator.metrics.1.splits=2'
    ]
    outputs = ['--out', out, '--work-dir', tmp_path]
    run_python('tools/test.py', DEMO, tmp_path / 'iter_2.pth', *outputs, *tiny_eval, timeout=900)
    metrics = json.loads(out.read_text())
    assert metrics['FID/fid'] > 0 and 0 <= metrics['FID/precision'] <= 1
    assert metrics['ClassifierScore-EffNetLite0-NOT-IS/classifier_score'] >= 1


def test_test_script_refuses_a_checkpoint_of_another_architecture(tmp_path):
    run_python('tools/train.py', TINY, '--work-dir', tmp_path)
    proc = run_python('tools/test.py', DEMO, tmp_path / 'iter_4.pth', timeout=300, check=False)
    assert proc.returncode != 0 and 'size mismatch' in proc.stderr


@pytest.mark.parametrize('args, message', [
    (['tools/dist_train.sh', TINY], 'usage: dist_train.sh CONFIG NUM_PROCESSES'),
    (['tools/dist_train.sh', TINY, 'four'], "NUM_PROCESSES must be a positive integer, got 'four'"),
    (['tools/dist_train.sh', 'configs/nothing.py', '2'], 'config file configs/nothing.py does not exist'),
    (['tools/dist_test.sh', TINY, '2'], 'usage: dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES'),
    (['tools/dist_test.sh', TINY, 'no.pth', '2'], 'checkpoint no.pth does not exist'),
])
def test_launcher_scripts_say_what_is_missing(args, message):
    proc = run_command('bash', *args, timeout=60, check=False)
    assert proc.returncode == 2 and message in proc.stderr


@pytest.mark.parametrize('python, message',
                         [('/nowhere/python', "no '/nowhere/python' on PATH"),
                          ('/usr/bin/true', "'/usr/bin/true' (/usr/bin/true) has no torch")])
def test_launcher_without_a_usable_python_says_how_to_get_one(python, message):
    proc = run_command(
        'bash', 'tools/dist_train.sh', TINY, 2, env=dict(PYTHON=python), timeout=60, check=False)
    assert proc.returncode == 127 and message in proc.stderr and 'source .venv/bin/activate' in proc.stderr


@pytest.mark.parametrize('out, error, message', [
    ('no_such_folder/metrics.json', FileNotFoundError, 'no_such_folder does not exist'),
    ('.', IsADirectoryError, 'is a folder'),
])
def test_test_script_checks_out_before_evaluating(monkeypatch, tmp_path, out, error, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message):
        run_tool(monkeypatch, 'test.py', TINY, tmp_path / 'not_even_read.pth', '--out', out)


def test_resume_from_a_missing_file(monkeypatch, tmp_path):
    with pytest.raises(FileNotFoundError, match='--resume: checkpoint .*nope.pth does not exist'):
        run_tool(monkeypatch, 'train.py', TINY, '--work-dir', tmp_path, '--resume', tmp_path / 'nope.pth')


def test_auto_scale_lr_scales_both_learning_rates(monkeypatch, tmp_path):
    """Batch 10 in one process against base_batch_size=20: G 2e-4 -> 1e-4, D 8e-4 -> 4e-4 (MMEngine's
    Runner.scale_lr on the OptimWrapperDict the TTUR constructor builds)."""
    run_tool(monkeypatch, 'train.py', TINY, '--work-dir', tmp_path, '--auto-scale-lr', '--cfg-options',
             'auto_scale_lr.base_batch_size=20', 'train_cfg.max_iters=1')
    optimizer = torch.load(tmp_path / 'iter_1.pth', weights_only=True)['optimizer']
    lrs = {name: optimizer[name]['param_groups'][0]['lr'] for name in ('generator', 'discriminator')}
    assert lrs == pytest.approx(dict(generator=1e-4, discriminator=4e-4))


def test_auto_scale_lr_needs_a_base_batch_size(monkeypatch, tmp_path):
    with pytest.raises(KeyError, match='--auto-scale-lr needs auto_scale_lr = dict\\(base_batch_size=N\\)'):
        run_tool(monkeypatch, 'train.py', TINY, '--work-dir', tmp_path, '--auto-scale-lr', '--cfg-options',
                 'auto_scale_lr=None')
