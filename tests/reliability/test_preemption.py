"""Preemption as clusters do it: a real SIGTERM/SIGUSR1 to a real training process saves the iteration it
is at, exits 75, and --resume continues (tools/slurm_train.sh's requeue: test_slurm_train.py)."""
import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.hooks import Hook

from sagan_plugin.engine.checkpoint_files import read_last_checkpoint, verify_checkpoint
from sagan_plugin.engine.preemption_hook import PREEMPTED_EXIT_CODE, PreemptionHook, TrainingPreempted
from tests.conftest import REPO, free_port, run_python
from tests.reliability.conftest import TINY, tiny_runner
from tests.reliability.test_distributed import children, wait_for

# Long enough to be stopped in the middle; no periodic checkpoint or grid before iteration 1000.
LONG = ['train_cfg.max_iters=200', 'default_hooks.checkpoint.interval=1000', 'custom_hooks.0.interval=1000']
ITER = re.compile(r'Iter\(train\) \[\s*(\d+)/')
PREEMPTED = re.compile(r'preempted by (SIG\w+) at iteration (\d+): saved (\S+); resume with --resume')


def start(command, log_path, **env):
    """``command`` in the repository's root in a session of its own, output into ``log_path``."""
    with open(log_path, 'w') as log:
        return subprocess.Popen([str(c) for c in command],
                                cwd=REPO,
                                env=dict(os.environ, OMP_NUM_THREADS='1', **env),
                                stdout=log,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop_when_training(proc, log_path, send, timeout=300) -> int:
    """Once ``log_path`` shows an iteration, call ``send()``; return the last iteration seen before."""
    wait_for(lambda: ITER.search(log_path.read_text()) or proc.poll() is not None, timeout, 'an iteration')
    assert proc.poll() is None, log_path.read_text()[-3000:]
    seen = int(ITER.findall(log_path.read_text())[-1])
    send()
    return seen


def finish(proc, timeout=120) -> int:
    try:
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def check_saved(work_dir, log: str, seen: int, sig: str) -> int:
    """The message names the iteration; its checkpoint verifies, holds that iteration, is the last one."""
    match = PREEMPTED.search(log)
    assert match, log[-3000:]
    name, step, path = match.group(1), int(match.group(2)), match.group(3)
    assert name == sig and seen <= step < 200 and path == str(work_dir / f'iter_{step}.pth')
    verify_checkpoint(path)
    assert read_last_checkpoint(str(work_dir)) == path
    assert torch.load(path, map_location='cpu', weights_only=True)['meta']['iter'] == step
    return step


def resume(work_dir, step: int, *args) -> None:
    """--resume continues from iteration ``step`` to the end (``step + 2``) and saves the last one."""
    before = set(work_dir.glob('*/*.log'))
    run_python('tools/train.py', TINY, '--work-dir', work_dir, '--resume', *args, '--cfg-options',
               f'train_cfg.max_iters={step + 2}', *LONG[1:])
    new = set(work_dir.glob('*/*.log')) - before  # the resumed run's log, whatever its timestamp folder
    assert len(new) == 1, (sorted(before), sorted(new))
    log = new.pop().read_text()
    assert f'resumed epoch: 0, iter: {step}' in log and f'Iter(train) [{step + 1}/{step + 2}]' in log, log[
        -3000:]
    verify_checkpoint(str(work_dir / f'iter_{step + 2}.pth'))


WORKERS = ['train_dataloader.num_workers=2', 'train_dataloader.persistent_workers=True']
CASES = {  # signal, sent to the process group (as Slurm does, reaching the DataLoader workers), repeated
    'SIGTERM': ('SIGTERM', False, False, []),
    'SIGUSR1-to-group-with-dataloader-workers': ('SIGUSR1', True, False, WORKERS),
    'SIGTERM-again-while-saving': ('SIGTERM', False, True, []),
}


@pytest.mark.parametrize('sig, group, repeat, options', CASES.values(), ids=CASES.keys())
def test_signal_saves_the_iteration_exits_75_and_resume_continues(tmp_path, sig, group, repeat, options):
    work_dir, log_path = tmp_path / 'work', tmp_path / 'out.log'
    proc = start(
        [sys.executable, 'tools/train.py', TINY, '--work-dir', work_dir, '--cfg-options', *LONG, *options],
        log_path)
    signum = getattr(signal, sig)

    def send():
        os.killpg(proc.pid, signum) if group else os.kill(proc.pid, signum)
        while repeat and proc.poll() is None:  # through the save and the exit
            os.kill(proc.pid, signum)
            time.sleep(0.02)

    seen = stop_when_training(proc, log_path, send)
    assert finish(proc) == PREEMPTED_EXIT_CODE, log_path.read_text()[-3000:]
    step = check_saved(work_dir, log_path.read_text(), seen, sig)
    assert 'Traceback' not in log_path.read_text()
    if not repeat:
        resume(work_dir, step)


@pytest.mark.parametrize('target', ['one-worker', 'torchrun'])
def test_two_processes_stop_at_the_same_iteration_with_one_checkpoint(tmp_path, target):
    """tools/dist_train.sh, 2 processes on gloo: SIGUSR1 to one worker (the other learns it through the
    all_reduce) or to torchrun (which passes it on); both ranks leave on their own (a rank at another
    iteration would hang in the barrier and be killed), leaving one checkpoint, which resumes."""
    work_dir, log_path = tmp_path / 'work', tmp_path / 'out.log'
    proc = start(['bash', 'tools/dist_train.sh', TINY, '2', '--work-dir', work_dir, '--cfg-options', *LONG],
                 log_path,
                 PYTHON=sys.executable,
                 PORT=str(free_port()))
    workers = []

    def send():
        workers.extend(children(proc.pid))  # bash exec'd torchrun: proc.pid is torchrun
        assert len(workers) == 2, workers
        os.kill(workers[-1] if target == 'one-worker' else proc.pid, signal.SIGUSR1)

    try:
        seen = stop_when_training(proc, log_path, send)
        assert finish(proc) != 0  # torchrun reports its workers' non-zero exits as its own failure
    finally:
        for pid in workers:  # in their own sessions: a torchrun that died alone would leave them running
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    log = log_path.read_text()
    if target == 'one-worker':  # torchrun's summary of the failed workers: both exited 75
        assert len(re.findall(rf'exitcode\s*: {PREEMPTED_EXIT_CODE} \(pid', log)) == 2, log[-3000:]
    else:  # torchrun passed SIGUSR1 on and both workers exited before it had to kill them
        assert log.count('closing signal SIGUSR1') == 2 and 'forcefully' not in log, log[-3000:]
    step = check_saved(work_dir, log, seen, 'SIGUSR1')
    assert sorted(p.name for p in work_dir.glob('*.pth')) == [f'iter_{step}.pth']
    if target == 'one-worker':
        resume(work_dir, step)  # in one process: a distributed run's checkpoint loads strictly


class SendAt(Hook):
    """Sends ``sig`` to this process during iteration ``at`` (1-based)."""
    priority = 'HIGHEST'

    def __init__(self, at: int, sig: int):
        self.at, self.sig = at, sig

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at:
            os.kill(os.getpid(), self.sig)


def test_in_process_signal_stops_at_that_iteration_and_handlers_come_back(tmp_path):
    """Outside training the signal does what the handler before did; the run puts that handler back."""
    calls = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: calls.append(signum))
    try:
        runner = tiny_runner(tmp_path, **{'train_cfg.max_iters': 6, 'custom_hooks.0.interval': 1000})
        os.kill(os.getpid(), signal.SIGUSR1)  # built, not training: the earlier handler runs
        assert calls == [signal.SIGUSR1]
        runner.register_hook(SendAt(at=3, sig=signal.SIGUSR1))
        with pytest.raises(TrainingPreempted) as stop:
            runner.train()
        assert stop.value.code == PREEMPTED_EXIT_CODE and calls == [signal.SIGUSR1]
        log = next(tmp_path.glob('*/*.log')).read_text()
        assert f'preempted by SIGUSR1 at iteration 3: saved {tmp_path}/iter_3.pth; resume with' in log
        verify_checkpoint(str(tmp_path / 'iter_3.pth'))
        os.kill(os.getpid(), signal.SIGUSR1)  # after the run: the earlier handler again
        assert calls == [signal.SIGUSR1] * 2
    finally:
        signal.signal(signal.SIGUSR1, previous)


class Fail(Hook):

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        raise RuntimeError('a fault in training')


def test_after_a_training_that_raised_the_signal_is_not_swallowed(tmp_path):
    """An exception skips after_train and after_run; a process that goes on (a notebook, a test session)
    must still be stoppable: the next signal goes to the handler that was there before."""
    calls = []

    def record(signum, frame):
        calls.append(signum)

    previous = signal.signal(signal.SIGTERM, record)
    try:
        runner = tiny_runner(tmp_path, **{'custom_hooks.0.interval': 1000})
        runner.register_hook(Fail())
        with pytest.raises(RuntimeError, match='a fault in training'):
            runner.train()
        os.kill(os.getpid(), signal.SIGTERM)
        assert calls == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is record  # ours stepped aside for good
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_run_without_signal_ends_normally_and_restores_the_default_handlers(tmp_path):
    before = [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGUSR1)]
    runner = tiny_runner(tmp_path, **{'train_cfg.max_iters': 2, 'custom_hooks.0.interval': 1000})
    assert signal.getsignal(signal.SIGTERM) != before[0]  # installed when the hook is built
    runner.train()
    assert [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGUSR1)] == before
    assert read_last_checkpoint(str(tmp_path)) == str(tmp_path / 'iter_2.pth')


@pytest.mark.parametrize('kwargs, message', [
    (dict(signals=['SIGFOO']), "unknown signal 'SIGFOO'"),
    (dict(signals=['SIGKILL']), 'SIGKILL cannot be caught'),
    (dict(signals='SIGTERM'), 'must be a list'),
    (dict(interval=0), 'interval must be a positive integer'),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PreemptionHook(**kwargs)


def test_without_a_checkpoint_hook_training_does_not_start(tmp_path):
    runner = tiny_runner(tmp_path, **{'default_hooks.checkpoint': None})
    with pytest.raises(
            ValueError, match=r'has none \(default_hooks\.checkpoint\).*default_hooks\.preemption'):
        runner.train()
