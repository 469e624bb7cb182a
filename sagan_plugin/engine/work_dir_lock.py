"""One run per work_dir: an OS lock that tools/train.py and tools/test.py take before building the Runner.

Two runs writing into one work_dir (a double submit, a requeued job while the old one still runs) delete each
other's partial checkpoints and mix their ``iter_*.pth``. The lock is ``fcntl.flock`` on
``work_dir/.run.lock``: the kernel drops it when its process ends, however it ends, so a killed run never
leaves a stale lock. The holder writes its pid, host, start time and command into the file, and a refused
run names them.

A refused run changes nothing in the work_dir: the refusal comes before MMEngine's Runner creates its log
folder and dumps the config, and the holder's details are written only once every check has passed. In a
distributed run only rank 0 takes the lock, and every rank raises the same error, so none waits for a peer
that has stopped.
"""
import contextlib
import errno
import fcntl
import json
import logging
import os
import os.path as osp
import pickle
import socket
import sys
import time
from typing import Iterator, Optional

from mmengine.dist import broadcast_object_list, get_rank, init_dist, is_distributed
from mmengine.logging import print_log
from mmengine.utils.dl_utils import set_multi_processing

from .checkpoint_files import LAST_CHECKPOINT, checkpoints_in

LOCK_FILE = '.run.lock'
_HELD = set()  # lock fds of this process; a forked child (a dataloader worker) closes its copies


class WorkDirInUseError(RuntimeError):
    """Another live run holds the work_dir's lock."""


def _close_in_child() -> None:
    # A forked child shares the lock (flock belongs to the open file, not the process); closing the child's
    # copy leaves the parent's lock in place and makes the lock end with the parent alone.
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


os.register_at_fork(after_in_child=_close_in_child)


def refuse_used(folder: str, work_dir: str) -> None:
    """Raise FileExistsError if ``folder`` holds checkpoints (or ``work_dir`` a ``last_checkpoint``) that a
    run starting from iteration 0 would overwrite and mix with its own."""
    used = checkpoints_in(folder)
    if used or osp.isfile(osp.join(work_dir, LAST_CHECKPOINT)):
        raise FileExistsError(
            f'work_dir {work_dir} already holds checkpoints of another run '
            f'({", ".join(osp.basename(p) for p in used[:3]) or LAST_CHECKPOINT}); a new run would '
            'overwrite and mix them. Continue that run with --resume, or start this one in a fresh '
            '--work-dir')


@contextlib.contextmanager
def claim_work_dir(cfg, fresh: bool = False) -> Iterator[None]:
    """Hold ``cfg.work_dir`` for this run (all its processes) while the block runs.

    Args:
        cfg: the run's config (``work_dir``, ``launcher``, ``env_cfg``).
        fresh: the run starts from iteration 0, so a work_dir holding checkpoints is refused too.
    """
    env_cfg = cfg.get('env_cfg') or {}
    if cfg.get('launcher', 'none') != 'none' and not is_distributed():
        # What Runner.setup_env does (it skips this when a group exists): the ranks must agree below.
        set_multi_processing(**env_cfg.get('mp_cfg', {}), distributed=True)
        init_dist(cfg.launcher, **env_cfg.get('dist_cfg', {}))
    fd, error = None, None
    if get_rank() == 0:
        try:
            fd = _acquire(osp.abspath(cfg.work_dir), fresh)
        except Exception as err:  # every failure reaches every rank, or the others would wait for rank 0
            error = err
    shared = [_picklable(error)]
    broadcast_object_list(shared, src=0)
    if error is not None or shared[0] is not None:
        raise error or shared[0]
    try:
        yield
    finally:
        if fd is not None:
            _release(fd)


def _picklable(error: Optional[Exception]) -> Optional[Exception]:
    """``error`` as it can travel to the other ranks (the same type where it pickles)."""
    try:
        pickle.dumps(error)
        return error
    except Exception:
        return RuntimeError(f'{type(error).__name__}: {error}')


def _acquire(work_dir: str, fresh: bool) -> Optional[int]:
    """Lock ``work_dir`` and record this process as its holder; the lock's fd (None where the filesystem
    has no locks). Nothing is created or written until the checks have passed."""
    path = osp.join(work_dir, LOCK_FILE)
    fd = _lock(path, create=False)  # an existing lock file: is its holder alive?
    try:
        if fresh:
            refuse_used(work_dir, work_dir)
        if fd is None and not osp.exists(path):
            os.makedirs(work_dir, exist_ok=True)
            fd = _lock(path, create=True)
        if fd is not None:
            _write_holder(fd)
    except BaseException:
        if fd is not None:
            _release(fd, clear=False)
        raise
    return fd


def _lock(path: str, create: bool) -> Optional[int]:
    """The fd of ``path`` locked by this process; None if it does not exist (``create`` False) or the
    filesystem does not support locks (with a warning)."""
    try:
        fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
    except FileNotFoundError:
        if create:
            raise
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        holder = _read_holder(fd) if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN) else None
        os.close(fd)
        if holder is not None:
            raise WorkDirInUseError(f'work_dir {osp.dirname(path)} is in use by another run: {holder}. Wait '
                                    'for it to end (or stop it), or give this run another --work-dir; '
                                    'nothing in the work_dir was changed') from None
        if err.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
            print_log(
                f'cannot lock {path} ({err.strerror}): this filesystem has no file locks, so a second '
                'run in this work_dir would not be refused', 'current', logging.WARNING)
            return None
        raise OSError(err.errno, f'cannot lock {path}: {err.strerror}') from err
    _HELD.add(fd)
    return fd


def _write_holder(fd: int) -> None:
    """Record who holds the lock: pid, host, start time (UTC) and command line."""
    holder = dict(
        pid=os.getpid(),
        host=socket.gethostname(),
        started=time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime()),
        command=' '.join([osp.basename(sys.executable)] + sys.argv),
        world_size=int(os.environ.get('WORLD_SIZE', 1)))
    data = (json.dumps(holder) + '\n').encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    os.fsync(fd)


def _read_holder(fd: int) -> str:
    """The holder's details as a phrase. A holder takes the lock before writing them, so for a moment the
    file may be empty or still name the run before it (a dead process on this host): wait for them."""
    for _ in range(40):
        try:
            holder = json.loads(os.pread(fd, 4096, 0).decode())
            if holder['host'] != socket.gethostname() or _alive(holder['pid']):
                return _describe(holder)
        except (ValueError, KeyError, TypeError):
            pass
        time.sleep(0.05)
    return 'a process that has not recorded its pid yet (it is starting)'


def _describe(holder: dict) -> str:
    ranks = f', rank 0 of {holder["world_size"]} processes' if holder.get('world_size', 1) > 1 else ''
    return (f'pid {holder["pid"]} on host {holder["host"]}{ranks}, started {holder["started"]} '
            f'({holder["command"]})')


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        pass
    return True


def _release(fd: int, clear: bool = True) -> None:
    """Unlock; ``clear``: erase the holder's details first (a killed run leaves them, and its lock is free
    all the same). A refused run clears nothing: it wrote nothing."""
    _HELD.discard(fd)
    with contextlib.suppress(OSError):
        if clear:
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
