"""MMEngine's CheckpointHook, made so that no fault loses the last good checkpoint."""
import contextlib
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.runner import EpochBasedTrainLoop
from mmengine.runner.checkpoint import get_state_dict, weights_to_cpu

from sagan_plugin.compat import StepCheckpointHook, runner_load_request, set_runner_load_from
from sagan_plugin.models.sampling import unwrap
from sagan_plugin.registry import HOOKS
from .checkpoint_files import (LAST_CHECKPOINT, PARTIAL_SUFFIX, find_resumable_checkpoint,
                               read_last_checkpoint, verify_checkpoint, write_last_checkpoint)
from .load_from import PARTIAL_KEY, differences, fit_load_from, value_shape
from .work_dir_lock import refuse_used


@HOOKS.register_module()
class AtomicCheckpointHook(StepCheckpointHook):
    """:class:`mmengine.hooks.CheckpointHook` (same arguments, ``save_best`` included) with these changes:

    * **Atomic.** A checkpoint is written as ``.iter_N.pth.partial``, flushed to disk and renamed; a save cut
      short by a kill or an I/O error leaves only the partial file, which nothing loads.
    * **Rotation after saving.** MMEngine deletes the oldest checkpoint *before* writing the new one; here
      ``max_keep_ckpts`` deletes only after the new one is complete, so a failed save never costs a good one.
    * **Relative ``last_checkpoint``.** It names the file relative to the work_dir (written atomically), so
      a moved or copied work_dir resumes from its own files.
    * **Safe resume.** ``resume=True`` without a file resumes from the newest checkpoint that passes its
      CRC check (warning about each damaged one passed over); a resume checkpoint must hold the training
      state (``meta``, ``optimizer``) and match the model's keys and shapes, or training does not start.
    * **Strict load_from.** A ``load_from`` file is verified like a resumed one and must match the model's
      keys and shapes, except what the config's ``load_from_partial`` names (see ``engine/load_from.py``).
    * **A used work_dir is refused.** A run that starts from iteration 0 in a folder holding another run's
      checkpoints stops instead of overwriting and mixing them.
    * **A failed save is named.** Disk full, quota or an I/O error: the error names the file and the free
      space, the incomplete file is removed, and the last good checkpoint and ``last_checkpoint`` stay.
    * **Nothing to train is an error.** A resume at or past ``max_iters`` stops, saying how to go further.
    * **Same keys from any number of processes.** The state_dict is saved without the DDP wrappers'
      ``module.`` segments (and old checkpoints with them still load), so a checkpoint of a distributed run
      resumes, evaluates and samples in one process, strictly.

    Args:
        **kwargs: the arguments of :class:`mmengine.hooks.CheckpointHook` (``interval``, ``by_epoch``,
            ``max_keep_ckpts``, ``save_best``, ``rule``, ...). Checkpoints go to a local folder.
    """

    def before_run(self, runner) -> None:
        # MMEngine reads last_checkpoint relative to the cwd and trusts it; resolve and verify it before
        # Runner.load_or_resume (which runs after before_run) loads it.
        resume, load_from = runner_load_request(runner)
        if resume and load_from is None:
            set_runner_load_from(runner, find_resumable_checkpoint(runner.work_dir))
        elif load_from is not None:  # resume or load_from: CRC, plain weights, finite values
            verify_checkpoint(load_from)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # MMEngine saves the wrapped model's state_dict: under MMSeparateDistributedDataParallel every key
        # gets a 'generator.module.' prefix that MMEngine's own loader does not match (a non-strict resume
        # then silently keeps random weights). get_state_dict unwraps, as a single-process run saves.
        checkpoint['state_dict'] = weights_to_cpu(get_state_dict(unwrap(runner.model)))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        resume, path = runner_load_request(runner)
        model_state = get_state_dict(unwrap(runner.model))
        state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else checkpoint
        if not isinstance(state, dict):
            raise ValueError(f'checkpoint {path or ""} holds a {type(state).__name__}, not a '
                             'dict of weights')
        # Checkpoints that distributed runs saved before the fix above.
        _drop_wrapper_prefixes(state, model_state)
        if not resume:
            if path is not None:  # load_from: strict unless load_from_partial names the keys
                fit_load_from(state, unwrap(runner.model), path, runner.cfg.get(PARTIAL_KEY))
            return  # tools/test.py loads with strict=True itself
        missing = [key for key in ('meta', 'state_dict', 'optimizer') if key not in checkpoint]
        if missing:
            raise ValueError(f'--resume {path}: the file has no {missing} (a weights-only checkpoint, e.g. '
                             'converted or published). Start a new run from its weights with '
                             f'--cfg-options load_from={path} instead of --resume')
        problems = _state_dict_mismatch(state, model_state)
        if problems:
            raise ValueError(f'--resume {path}: the checkpoint does not fit this model ({len(problems)} '
                             'differences; was it saved with another config?):\n  ' +
                             '\n  '.join(problems[:20]))

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not isinstance(self.file_backend, LocalBackend):
            raise ValueError(f'AtomicCheckpointHook writes to a local folder, not {self.out_dir}; use '
                             "type='CheckpointHook' (MMEngine's, not atomic) for other storage")
        if runner.iter == 0:  # a fresh run (tools/train.py checked this before building the Runner)
            refuse_used(self.out_dir, runner.work_dir)
        _refuse_nothing_to_train(runner)
        if is_main_process():
            for name in os.listdir(self.out_dir):
                if name.endswith(PARTIAL_SUFFIX):  # left by a save that was cut short
                    runner.logger.warning(f'removing {name} in {self.out_dir}: an incomplete checkpoint')
                    os.remove(osp.join(self.out_dir, name))

    def save_step(self, runner, step: int, meta: dict) -> None:
        """Write ``step``'s checkpoint atomically, then rotate (MMEngine deletes first, which loses one)."""
        filename = self.filename_tmpl.format(step)
        path = osp.join(self.out_dir, filename)
        partial = osp.join(self.out_dir, f'.{filename}{PARTIAL_SUFFIX}')
        expired = self._keep(runner, step)
        self.last_ckpt = path
        runner.message_hub.update_info('last_ckpt', path)
        try:
            runner.save_checkpoint(
                self.out_dir,
                osp.basename(partial),
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)
            if not is_main_process():  # Runner.save_checkpoint is master_only: the main process wrote it
                return
            _flush_to_disk(partial)
            os.replace(partial, path)
            write_last_checkpoint(runner.work_dir, path)
        except OSError as err:  # disk full, quota, I/O error: name the file, keep the last good state
            raise _save_failed(err, path, partial, runner.work_dir) from err
        if expired is not None and osp.isfile(osp.join(self.out_dir, self.filename_tmpl.format(expired))):
            os.remove(osp.join(self.out_dir, self.filename_tmpl.format(expired)))

    def _keep(self, runner, step: int) -> Optional[int]:
        """Record ``step`` among the ``max_keep_ckpts`` kept (in the message hub, so the checkpoint knows it)
        and return the step that falls out, to be deleted once ``step`` is on disk."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            return None  # keep all, or the same step saved again after a new best
        expired = self.keep_ckpt_ids.popleft() if len(self.keep_ckpt_ids) == self.max_keep_ckpts else None
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        return expired


def _save_failed(err: OSError, path: str, partial: str, work_dir: str) -> OSError:
    """The error of a failed save, naming the file and the free space, after removing what it left (so a
    full disk gets its space back); the previous checkpoint and ``last_checkpoint`` were never touched."""
    with contextlib.suppress(OSError):
        os.remove(osp.join(work_dir, LAST_CHECKPOINT + PARTIAL_SUFFIX))
    try:
        os.remove(partial)
        removed = '; the incomplete file was removed'
    except OSError:
        removed = ''
    try:
        previous = read_last_checkpoint(work_dir)
    except (OSError, ValueError):
        previous = None
    folder = osp.dirname(path)
    free = shutil.disk_usage(folder).free / 2**20
    kept = (f'The last good checkpoint, {previous}, and {osp.join(work_dir, LAST_CHECKPOINT)} naming it are '
            'unchanged: make room and continue with --resume' if previous else 'No checkpoint of this run '
            'was saved before this one; make room and start again')
    message = (f'{err.strerror or err}: saving checkpoint {path} failed ({free:.1f} MiB free in {folder}'
               f'{removed}). {kept}')
    return OSError(err.errno, message) if err.errno is not None else OSError(message)


def _refuse_nothing_to_train(runner) -> None:
    """A resumed run already at its end would exit 0 having trained nothing; say so instead."""
    if isinstance(runner.train_loop, EpochBasedTrainLoop):
        unit, key, done, end = 'epoch', 'train_cfg.max_epochs', runner.epoch, runner.max_epochs
    else:
        unit, key, done, end = 'iteration', 'train_cfg.max_iters', runner.iter, runner.max_iters
    resume, path = runner_load_request(runner)
    if resume and done >= end:
        raise ValueError(f'--resume {path}: the checkpoint is at {unit} {done} and {key} is '
                         f'{end}: nothing is left to train. To train further, raise {key}, e.g. --resume '
                         f'--cfg-options {key}={max(2 * done, done + 1)}')


def _flush_to_disk(path: str) -> None:
    """fsync ``path``, so that after a crash its rename never points at data still in the page cache."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _drop_wrapper_prefixes(state: Dict, model_state: Dict) -> None:
    """Rename keys like ``generator.module.x`` to the ``generator.x`` the model expects, in place."""
    for key in [k for k in state if k not in model_state and '.module.' in k]:
        plain = key.replace('.module.', '.', 1)
        if plain in model_state and plain not in state:
            state[plain] = state.pop(key)


def _state_dict_mismatch(saved: Dict, current: Dict) -> List[str]:
    """Keys missing from or unexpected in ``saved``, and keys whose shapes differ, one line each."""
    missing, unexpected, misshaped = differences(saved, current)
    problems = [f'missing in the checkpoint: {key}' for key in missing]
    problems += [f'not in the model: {key}' for key in unexpected]
    problems += [
        f'{k}: checkpoint {value_shape(saved[k])} vs model {tuple(current[k].shape)}' for k in misshaped
    ]
    return problems
