"""Stop at the next iteration boundary with a saved checkpoint when the scheduler asks a run to end.

Slurm and most cluster schedulers stop a job with SIGTERM (or the signal set with ``--signal``, often
SIGUSR1) and kill it some time later. Without this hook the signal ends the process at once and every
iteration since the last periodic checkpoint is lost.
"""
import logging
import os
import signal
import sys
import weakref
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.dist import all_reduce, barrier, is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from torch.utils.data import get_worker_info

from sagan_plugin.compat import save_checkpoint_now
from sagan_plugin.registry import HOOKS
from .checkpoint_files import verify_checkpoint

# sysexits.h EX_TEMPFAIL: "a temporary failure; the user is invited to retry". 128+N is taken by the
# signals themselves (143 = killed by SIGTERM), 1 by Python's errors; tools/slurm_train.sh requeues on 75.
PREEMPTED_EXIT_CODE = 75


class TrainingPreempted(SystemExit):
    """Raised on every process, after the checkpoint is on disk, to end it with ``PREEMPTED_EXIT_CODE``."""


@HOOKS.register_module()
class PreemptionHook(Hook):
    """On SIGTERM/SIGUSR1, save a checkpoint at the next iteration boundary and exit with code 75.

    The signal handlers only set a flag. After each iteration the processes agree on it (``all_reduce``
    MAX over the process group, so a signal that reached one rank stops every rank at the same iteration),
    the run's checkpoint hook saves that iteration (atomic and verified with AtomicCheckpointHook, rotated
    and recorded in ``last_checkpoint`` as any periodic save), all ranks wait for the file, and each exits
    with ``PREEMPTED_EXIT_CODE``; ``--resume`` continues from it. A second signal while saving only sets the
    flag again.

    The handlers are installed when the hook is built (before the Runner starts its DataLoader workers,
    which inherit them and ignore the signal: their parent stops them), act only between ``before_train``
    and ``after_train`` (elsewhere, e.g. in tools/test.py or while the dataset loads, the signal does what
    it did before), and are put back in ``after_run``, just before the preemption exit (tools/train.py then
    ends the process at once: :func:`exit_at_once`), or at the first signal after a training that raised.

    Args:
        signals: names (``'SIGTERM'``) or numbers of the signals that mean "save and stop".
        interval: look for a signal every ``interval`` iterations (with several processes this is a
            collective: one small all_reduce).
    """
    priority = 'LOWEST'  # after CheckpointHook and LoggerHook: the iteration is logged, and perhaps saved

    def __init__(self,
                 signals: Sequence[Union[str, int]] = ('SIGTERM', 'SIGUSR1'),
                 interval: int = 1) -> None:
        if isinstance(signals, (str, int)) or not signals:
            raise ValueError(f'PreemptionHook: signals must be a list of signal names, got {signals!r}')
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'PreemptionHook: interval must be a positive integer, got {interval!r}')
        self.signals = [_parse_signal(s) for s in signals]
        self.interval = interval
        self._pid = os.getpid()  # a forked child (a DataLoader worker) inherits the handlers
        self._training = False
        self._received = 0  # the number of the last signal seen during training
        self._checkpoint_hook: Optional[CheckpointHook] = None
        self._loop = lambda: None
        self._previous: Dict[int, object] = {}
        self._install()

    def _install(self) -> None:
        names = ', '.join(s.name for s in self.signals)
        try:
            for sig in self.signals:
                self._previous[sig] = signal.getsignal(sig)
                signal.signal(sig, self._on_signal)
        except ValueError:  # signal.signal works only in the main thread of the main interpreter
            self.restore_signal_handlers()
            print_log(
                f'PreemptionHook: not in the main thread, so {names} cannot be caught; such a signal '
                'ends the run without saving', 'current', logging.WARNING)

    def _on_signal(self, signum: int, frame) -> None:
        if os.getpid() != self._pid:
            if get_worker_info() is not None:
                return  # a DataLoader worker: its parent saves and then shuts it down
        elif self._training and _on_stack(self._loop(), frame):
            self._received = signum  # acted on in after_train_iter: nothing else is safe in a handler
            return
        previous = self._previous.get(signum, signal.SIG_DFL)
        if self._training and os.getpid() == self._pid:  # training ended with an exception: no after_run
            self._training = False
            self.restore_signal_handlers()
        _call_previous(previous, signum, frame)

    def restore_signal_handlers(self) -> None:
        """Put back the handlers that were there before (those still ours: a later one's are left alone)."""
        for sig, previous in self._previous.items():
            if signal.getsignal(sig) == self._on_signal:
                signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous = {}

    def before_train(self, runner) -> None:
        self._checkpoint_hook = _checkpoint_hook(runner)
        self._loop = weakref.ref(runner.train_loop)  # to tell a running loop from one ended by an exception
        self._received = 0
        self._training = True

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        agreed = torch.tensor([self._received], dtype=torch.int64)
        all_reduce(agreed, op='max')  # a no-op in one process
        if agreed.item():
            self._save_and_exit(runner, signal.Signals(int(agreed.item())).name)

    def after_train(self, runner) -> None:
        self._training = False

    def after_run(self, runner) -> None:
        self.restore_signal_handlers()

    def _save_and_exit(self, runner, name: str) -> None:
        """Save this iteration through the checkpoint hook, wait for every rank, and exit with code 75."""
        hook, step = self._checkpoint_hook, runner.iter + 1
        path = hook.file_backend.join_path(hook.out_dir, hook.filename_tmpl.format(step))
        runner.logger.warning(f'{name} received: saving iteration {step} before stopping')
        if hook.last_ckpt != path:  # not already saved by the hook's own interval or save_last
            _save_now(hook, runner)
        if is_main_process() and isinstance(hook.file_backend, LocalBackend):
            verify_checkpoint(path)
        barrier()  # a rank that exited first would make srun or torchrun kill the one still writing
        runner.logger.warning(f'preempted by {name} at iteration {step}: saved {path}; resume with --resume '
                              f'(exit code {PREEMPTED_EXIT_CODE})')
        self.restore_signal_handlers()
        raise TrainingPreempted(PREEMPTED_EXIT_CODE)


def exit_at_once(code: int) -> None:
    """End the process now with ``code``, logs flushed, skipping the interpreter's teardown (seconds with
    DataLoader workers, CUDA and process groups): once the first task exits, ``srun --kill-on-bad-exit``
    SIGKILLs the others, and one killed task's 137 would hide the 75 of the rest from tools/slurm_train.sh."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def _parse_signal(sig: Union[str, int]) -> signal.Signals:
    """A catchable signal from its name (``'SIGTERM'``, ``'TERM'``) or number; ValueError naming it."""
    try:
        if isinstance(sig, str):
            parsed = signal.Signals[sig.upper() if sig.upper().startswith('SIG') else f'SIG{sig.upper()}']
        else:
            parsed = signal.Signals(sig)
    except (KeyError, ValueError):
        raise ValueError(
            f'PreemptionHook: unknown signal {sig!r} in signals (e.g. SIGTERM, SIGUSR1)') from None
    if parsed in (signal.SIGKILL, signal.SIGSTOP):
        raise ValueError(f'PreemptionHook: {parsed.name} cannot be caught; it cannot be in signals')
    return parsed


def _on_stack(loop, frame) -> bool:
    """Whether ``loop.run`` is executing: a training that raised never called after_train."""
    while frame is not None and loop is not None:
        if frame.f_code.co_name == 'run' and frame.f_locals.get('self') is loop:
            return True
        frame = frame.f_back
    return False


def _call_previous(previous, signum: int, frame) -> None:
    """Outside training, do what the handler before ours did (for SIG_DFL: terminate as the signal does)."""
    if callable(previous):
        previous(signum, frame)
    elif previous != signal.SIG_IGN:
        current = signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)  # delivered before kill returns; we get here only if it does not end us
        signal.signal(signum, current)


def _checkpoint_hook(runner) -> CheckpointHook:
    """The run's checkpoint hook, which makes the preemption checkpoint like any periodic one."""
    hooks = [hook for hook in runner.hooks if isinstance(hook, CheckpointHook)]
    if not hooks:
        raise ValueError('PreemptionHook saves through the checkpoint hook and this config has none '
                         '(default_hooks.checkpoint); add one, or set default_hooks.preemption=None to let '
                         'SIGTERM end the run without saving')
    if hooks[0].by_epoch:
        raise ValueError('PreemptionHook saves at an iteration, which default_hooks.checkpoint with '
                         'by_epoch=True cannot resume from mid-epoch; set by_epoch=False (iteration-based)')
    return hooks[0]


def _save_now(hook: CheckpointHook, runner) -> None:
    """Save the current iteration as the hook's own interval would (same file name, rotation, pointer)."""
    runner.logger.info(f'Saving checkpoint at {runner.iter + 1} iterations')
    save_checkpoint_now(hook, runner)
