"""tools/slurm_train.sh after a preemption (exit 75): requeue, and --resume in the requeued job; with fake
``srun``/``scontrol`` on PATH that record their arguments (no Slurm here)."""
import os

import pytest

from tests.conftest import run_command
from tests.reliability.conftest import TINY

FAKE = '#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$FAKE_LOG/{name}.args"\nexit ${{{code}:-0}}\n'


def slurm_train(tmp_path, srun_exit=0, scontrol_exit=0, args=(), **env):
    """tools/slurm_train.sh with fake srun/scontrol on PATH that record their arguments and exit as told;
    returns (the process, srun's arguments, scontrol's arguments or None)."""
    tmp_path.mkdir(exist_ok=True)
    for name, code in (('srun', 'SRUN_EXIT'), ('scontrol', 'SCONTROL_EXIT')):
        (tmp_path / name).write_text(FAKE.format(name=name, code=code))
        (tmp_path / name).chmod(0o755)
    env = dict(
        env,
        PATH=f'{tmp_path}:{os.environ["PATH"]}',
        FAKE_LOG=str(tmp_path),
        SRUN_EXIT=str(srun_exit),
        SCONTROL_EXIT=str(scontrol_exit))
    proc = run_command(
        'bash',
        'tools/slurm_train.sh',
        'gpu',
        'sagan',
        TINY,
        tmp_path / 'work',
        *args,
        env=env,
        unset=[name for name in ('SLURM_JOB_ID', 'SLURM_RESTART_COUNT') if name not in env],
        check=False)
    recorded = {p.stem: p.read_text().splitlines() for p in tmp_path.glob('*.args')}
    return proc, recorded.get('srun'), recorded.get('scontrol')


def test_slurm_train_requeues_a_preempted_batch_job(tmp_path):
    proc, srun, scontrol = slurm_train(tmp_path, srun_exit=75, SLURM_JOB_ID='4242')
    assert proc.returncode == 75 and scontrol == ['requeue', '4242'], proc.stderr[-2000:]
    assert '--resume' not in srun  # the first run starts from iteration 0
    assert 'training was preempted (exit 75): requeued job 4242, which resumes from' in proc.stderr


@pytest.mark.parametrize('srun_exit', [0, 1, 137])
def test_slurm_train_does_not_requeue_other_endings(tmp_path, srun_exit):
    proc, _, scontrol = slurm_train(tmp_path, srun_exit=srun_exit, SLURM_JOB_ID='4242')
    assert proc.returncode == srun_exit and scontrol is None


def test_slurm_train_requeued_job_resumes_when_there_is_a_checkpoint(tmp_path):
    (tmp_path / 'work').mkdir()
    (tmp_path / 'work' / 'last_checkpoint').write_text('iter_37.pth')
    proc, srun, _ = slurm_train(
        tmp_path, args=('--resume', 'old/iter_5.pth'), SLURM_JOB_ID='4242', SLURM_RESTART_COUNT='1')
    assert proc.returncode == 0 and 'restart 1 of job 4242: resuming from the checkpoints in' in proc.stderr
    assert srun[-3:] == ['--resume', 'old/iter_5.pth', '--resume']  # the last one wins: this work_dir's


def test_slurm_train_requeued_job_without_a_checkpoint_starts_again(tmp_path):
    proc, srun, _ = slurm_train(tmp_path, SLURM_JOB_ID='4242', SLURM_RESTART_COUNT='2')
    assert proc.returncode == 0 and '--resume' not in srun
    assert 'restart 2 of job 4242: no checkpoint in' in proc.stderr
    assert 'starting from iteration 0' in proc.stderr


def test_slurm_train_outside_a_batch_job_or_unrequeueable_says_how_to_continue(tmp_path):
    proc, _, scontrol = slurm_train(tmp_path / 'login-node', srun_exit=75)
    assert proc.returncode == 75 and scontrol is None
    assert 'outside a batch job nothing requeues it: run the same command again with --resume' in proc.stderr
    proc, _, scontrol = slurm_train(tmp_path / 'salloc', srun_exit=75, scontrol_exit=1, SLURM_JOB_ID='7')
    assert proc.returncode == 75 and scontrol == ['requeue', '7'] and 'could not be requeued' in proc.stderr


def test_slurm_train_refuses_a_bad_restart_count(tmp_path):
    proc, srun, _ = slurm_train(tmp_path, SLURM_RESTART_COUNT='x')
    assert proc.returncode == 2 and srun is None
    assert "SLURM_RESTART_COUNT must be a number, got 'x'" in proc.stderr
