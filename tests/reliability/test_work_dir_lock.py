"""One run per work_dir: a second run (training, evaluation, a torchrun job) is refused naming the first, and
changes nothing there; a killed holder leaves no stale lock. Also: a resume with nothing left to train, and a
save that fails for want of disk space."""
import errno
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from mmengine.fileio import LocalBackend

from sagan_plugin.engine.checkpoint_files import verify_checkpoint
from sagan_plugin.engine.work_dir_lock import LOCK_FILE
from tests.conftest import REPO, free_port, run_python
from tests.reliability.conftest import TINY, tiny_runner

NO_GRID = ['custom_hooks.0.interval=1000']  # no sample grids: they are not what these tests look at
HOLD = """
import sys, time
from mmengine.config import Config
from sagan_plugin.engine.work_dir_lock import claim_work_dir
with claim_work_dir(Config(dict(work_dir=sys.argv[1], launcher='none', env_cfg={}))):
    print('held', flush=True)
    time.sleep(600)
"""


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A finished tiny run made by tools/train.py: iter_2.pth, iter_4.pth, last_checkpoint, the lock file."""
    work_dir = tmp_path_factory.mktemp('trained')
    run_python('tools/train.py', TINY, '--work-dir', work_dir, '--cfg-options', *NO_GRID)
    return work_dir


def start(*args, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *map(str, args)],
                            cwd=REPO,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            text=True,
                            **popen)


def hold(work_dir) -> subprocess.Popen:
    """A process holding ``work_dir``'s lock until it is killed."""
    holder = start('-c', HOLD, work_dir)
    assert holder.stdout.readline() == 'held\n', holder.communicate()[1][-3000:]
    return holder


def wait_for(condition, timeout: float, what: str) -> None:
    end = time.time() + timeout
    while not condition():
        if time.time() > end:
            pytest.fail(f'timed out waiting for {what}')
        time.sleep(0.2)


def snapshot(folder) -> dict:
    """Every file and folder under ``folder``: its bytes (files) and modification time, to the nanosecond."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            data = open(path, 'rb').read() if name in files else None
            found[os.path.relpath(path, folder)] = (data, os.stat(path).st_mtime_ns)
    return found


def lock_is_free(work_dir) -> bool:
    with open(work_dir / LOCK_FILE) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
    return True


def test_second_training_is_refused_naming_the_first_and_a_killed_one_leaves_no_lock(tmp_path):
    """Two tools/train.py in one work_dir (a double submit): the second, --resume or not, stops at once
    naming the first's pid and deletes nothing of it; SIGKILLed (dataloader workers alive for a moment),
    the first leaves its lock free and --resume continues from its last checkpoint."""
    first = start('tools/train.py', TINY, '--work-dir', tmp_path, '--cfg-options',
                  'train_cfg.max_iters=100000', 'train_dataloader.num_workers=2',
                  'train_dataloader.persistent_workers=True', *NO_GRID)
    try:
        wait_for(lambda: (tmp_path / 'last_checkpoint').is_file() or first.poll() is not None, 300,
                 'the first run to save a checkpoint')
        assert first.poll() is None, first.communicate()[1][-3000:]
        seconds = [
            start('tools/train.py', TINY, '--work-dir', tmp_path, *resume) for resume in ([], ['--resume'])
        ]
        holder = (r'started \S+ \S+ UTC \(\S+ tools/train.py ' +
                  re.escape(f'{TINY} --work-dir {tmp_path} --cfg-options train_cfg.max_iters=100000'))
        for second in seconds:
            stderr = second.communicate(timeout=300)[1]
            assert second.returncode != 0
            assert (f'WorkDirInUseError: work_dir {tmp_path} is in use by another run: pid {first.pid} on '
                    'host ') in stderr, stderr[-3000:]
            assert re.search(holder, stderr) and 'another --work-dir' in stderr
        assert first.poll() is None and len(list(tmp_path.glob('2*'))) == 1  # one log folder: the first's
        first.send_signal(signal.SIGKILL)
        first.wait()
        assert lock_is_free(tmp_path)  # at once, though its dataloader workers may not have exited yet
    finally:
        first.kill()
        first.communicate()
    last = (tmp_path / 'last_checkpoint').read_text()
    for path in tmp_path.glob('iter_*.pth'):
        verify_checkpoint(str(path))
    step = int(last[5:-4])
    run_python('tools/train.py', TINY, '--work-dir', tmp_path, '--resume', '--cfg-options',
               f'train_cfg.max_iters={step + 2}', *NO_GRID)
    assert (tmp_path / 'last_checkpoint').read_text() == f'iter_{step + 2}.pth'


@pytest.mark.parametrize('refusal', ['used work_dir', 'held'])
def test_a_refused_run_changes_nothing_in_the_work_dir(trained, tmp_path, refusal):
    """A new training in a used work_dir; a training and an evaluation while another process holds it."""
    work_dir = shutil.copytree(trained, tmp_path / 'run')  # copytree keeps each file's mtime
    holder = hold(work_dir) if refusal == 'held' else None
    before = snapshot(work_dir)
    try:
        runs = [start('tools/train.py', TINY, '--work-dir', work_dir)]
        if holder:
            runs.append(start('tools/test.py', TINY, work_dir / 'iter_4.pth', '--work-dir', work_dir))
        stderrs = [run.communicate(timeout=300)[1] for run in runs]
    finally:
        if holder:
            holder.kill()
            holder.communicate()
    expected = (f'WorkDirInUseError: work_dir {work_dir} is in use by another run: pid {holder.pid}'
                if holder else
                f'FileExistsError: work_dir {work_dir} already holds checkpoints of another run (iter_4.pth, '
                'iter_2.pth); a new run would overwrite and mix them. Continue that run with --resume')
    for run, stderr in zip(runs, stderrs):
        assert run.returncode != 0 and expected in stderr, stderr[-3000:]
    assert snapshot(work_dir) == before


@pytest.mark.parametrize('refusal', ['held', 'used work_dir'])
def test_distributed_run_is_refused_by_every_rank(trained, tmp_path, refusal):
    """tools/dist_train.sh with 2 processes, while another process holds the work_dir or in a used one: rank 0
    refuses, and both ranks stop with its error at once (neither waits for the other, which would hang until
    the process group's 30-minute timeout)."""
    work_dir = shutil.copytree(trained, tmp_path / 'run') if refusal != 'held' else tmp_path
    holder = hold(work_dir) if refusal == 'held' else None
    before = snapshot(work_dir)
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1')
    try:
        started = time.time()
        proc = subprocess.run(['bash', 'tools/dist_train.sh', TINY, '2', '--work-dir',
                               str(work_dir)],
                              cwd=REPO,
                              env=env,
                              capture_output=True,
                              text=True,
                              timeout=300)
        took = time.time() - started
    finally:
        if holder:
            holder.kill()
            holder.communicate()
    assert proc.returncode != 0 and took < 120, proc.stderr[-3000:]
    message = (f'WorkDirInUseError: work_dir {work_dir} is in use by another run: pid {holder.pid}' if holder
               else f'FileExistsError: work_dir {work_dir} already holds checkpoints of another run')
    assert proc.stderr.count(message) == 2, proc.stderr[-3000:]  # rank 0's error and rank 1's copy of it
    assert snapshot(work_dir) == before


def test_resume_with_nothing_left_to_train_is_an_error(trained, tmp_path):
    """--resume of a finished run (its checkpoint at max_iters); a checkpoint past a lower max_iters."""
    work_dir = shutil.copytree(trained, tmp_path / 'run')
    proc = run_python('tools/train.py', TINY, '--work-dir', work_dir, '--resume', check=False)
    assert proc.returncode != 0
    assert (
        f'ValueError: --resume {work_dir}/iter_4.pth: the checkpoint is at iteration 4 and '
        'train_cfg.max_iters is 4: nothing is left to train. To train further, raise train_cfg.max_iters, '
        'e.g. --resume --cfg-options train_cfg.max_iters=8') in proc.stderr, proc.stderr[-3000:]
    with pytest.raises(ValueError, match='at iteration 4 and train_cfg.max_iters is 2: nothing is left'):
        tiny_runner(
            tmp_path / 'new', resume_from=work_dir / 'iter_4.pth', **{
                'train_cfg.max_iters': 2
            }).train()


def check_failed_save(message: str, work_dir) -> None:
    """A save of iter_4.pth failed for want of space: named, and the iteration-2 state intact."""
    assert (
        f'[Errno 28] No space left on device: saving checkpoint {work_dir}/iter_4.pth failed (') in message
    assert (f'MiB free in {work_dir}; the incomplete file was removed). The last good checkpoint, '
            f'{work_dir}/iter_2.pth, and {work_dir}/last_checkpoint naming it are unchanged: make room and '
            'continue with --resume') in message
    assert (work_dir / 'last_checkpoint').read_text() == 'iter_2.pth'
    assert sorted(p.name for p in work_dir.glob('*.pth*')) == ['iter_2.pth']
    verify_checkpoint(str(work_dir / 'iter_2.pth'))


def test_disk_full_on_a_real_filesystem_names_the_file_and_resumes_after_room_is_made(trained, tmp_path):
    """The work_dir on a tmpfs with room for one checkpoint: the second save fails with ENOSPC."""
    size = (trained / 'iter_2.pth').stat().st_size * 3 // 2  # a checkpoint and its log, not two
    mount = tmp_path / 'small'
    mount.mkdir()
    if subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', str(mount)]).returncode:
        pytest.skip('cannot mount a tmpfs here (needs root)')
    try:
        proc = run_python('tools/train.py', TINY, '--work-dir', mount, '--cfg-options', *NO_GRID, check=False)
        assert proc.returncode != 0, proc.stderr[-3000:]
        check_failed_save(proc.stderr, mount)
        subprocess.run(['mount', '-o', f'remount,size={4 * size}', str(mount)], check=True)
        run_python('tools/train.py', TINY, '--work-dir', mount, '--resume', '--cfg-options', *NO_GRID)
        assert (mount / 'last_checkpoint').read_text() == 'iter_4.pth'
        verify_checkpoint(str(mount / 'iter_4.pth'))
    finally:
        subprocess.run(['umount', str(mount)], check=True)


def test_disk_full_half_way_through_a_save(tmp_path, monkeypatch):
    """The same fault in-process, wherever no tmpfs can be mounted: the write of iter_4's bytes stops half-way
    with ENOSPC."""
    put = LocalBackend.put

    def fill_up(self, obj, filepath):
        if 'iter_4' in str(filepath):
            put(self, obj[:len(obj) // 2], filepath)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', fill_up)
    with pytest.raises(OSError) as err:
        tiny_runner(tmp_path, **{'custom_hooks.0.interval': 1000}).train()
    assert err.value.errno == errno.ENOSPC
    check_failed_save(str(err.value), tmp_path)
