"""Checkpoint files on disk: integrity checks, the ``last_checkpoint`` pointer, and which file to resume from.

MMEngine writes checkpoints in place, records an absolute path in ``work_dir/last_checkpoint`` and loads
whatever it is given; :class:`AtomicCheckpointHook` and ``tools/train.py`` use these helpers so that a
damaged, partial or moved checkpoint is named and never silently trained on.
"""
import logging
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional

from mmengine.logging import print_log

LAST_CHECKPOINT = 'last_checkpoint'  # the file MMEngine's CheckpointHook and find_latest_checkpoint use
PARTIAL_SUFFIX = '.partial'  # a checkpoint being written; renamed to its final name once complete
_STEP = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')  # MMEngine's default filename_tmpl, by iteration or epoch


def verify_checkpoint(path: str) -> None:
    """Raise, naming ``path``, unless it is a complete PyTorch zip checkpoint whose entries match their CRC.

    ``torch.save`` stores each entry with a CRC-32, which ``torch.load`` never checks: bytes changed in the
    middle of a file load as wrong weights. ``ZipFile.testzip`` reads every entry (about 1 GB/s).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} does not exist')
    try:
        with zipfile.ZipFile(path) as archive:
            bad_entry = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise ValueError(f'checkpoint {path} ({osp.getsize(path)} bytes) is truncated or not a PyTorch '
                         f'checkpoint: {err}. Resume from an earlier one (work_dir/iter_*.pth)') from err
    if bad_entry is not None:
        raise ValueError(
            f'checkpoint {path} is damaged: its entry {bad_entry} fails the CRC-32 check (the '
            'file changed after it was written). Use an earlier checkpoint (work_dir/iter_*.pth)')


def checkpoint_step(path: str) -> Optional[int]:
    """The iteration (or epoch) number in a checkpoint file name such as ``iter_5000.pth``; None otherwise."""
    match = _STEP.match(osp.basename(path))
    return int(match.group(1)) if match else None


def checkpoints_in(folder: str) -> List[str]:
    """The ``iter_N.pth`` / ``epoch_N.pth`` files in ``folder``, newest (largest N) first."""
    if not osp.isdir(folder):
        return []
    names = [name for name in os.listdir(folder) if checkpoint_step(name) is not None]
    return [osp.join(folder, name) for name in sorted(names, key=checkpoint_step, reverse=True)]


def read_last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``work_dir/last_checkpoint`` names, resolved against ``work_dir``; None without one.

    We write the path relative to the work_dir, so a moved or copied work_dir resumes from its own files;
    an absolute path (written by MMEngine's own CheckpointHook) is used as it is.
    """
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        name = f.read().strip()
    if not name:
        raise ValueError(f'{pointer} is empty; remove it to resume from the newest iter_*.pth, or give the '
                         'checkpoint: --resume work_dir/iter_N.pth')
    return osp.normpath(osp.join(work_dir, name))


def write_last_checkpoint(work_dir: str, checkpoint: str) -> None:
    """Point ``work_dir/last_checkpoint`` at ``checkpoint`` (relative to ``work_dir``), atomically."""
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    with open(pointer + PARTIAL_SUFFIX, 'w') as f:
        f.write(osp.relpath(checkpoint, work_dir))
    os.replace(pointer + PARTIAL_SUFFIX, pointer)


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` should load: the one ``last_checkpoint`` names if it verifies, else the
    newest older one in the same folder that does, with a warning naming each file passed over.

    Returns None when the work_dir has no checkpoint at all; raises when there are some but none verifies.
    """
    latest = read_last_checkpoint(work_dir)
    if latest is None:
        candidates = checkpoints_in(work_dir)
        if not candidates:
            return None
        print_log(f'{work_dir} has no {LAST_CHECKPOINT} file; trying its newest checkpoint', 'current',
                  logging.WARNING)
    else:
        step = checkpoint_step(latest)
        older = [
            p for p in checkpoints_in(osp.dirname(latest)) if step is not None and checkpoint_step(p) < step
        ]
        candidates = [latest] + older
    problems = []
    for path in candidates:
        try:
            verify_checkpoint(path)
        except (FileNotFoundError, ValueError) as err:
            problems.append(str(err))
            continue
        if problems:
            print_log(f'{"; ".join(problems)}. Resuming from the previous good checkpoint {path} instead.',
                      'current', logging.WARNING)
        return path
    raise ValueError(f'no usable checkpoint to resume from in {work_dir}: ' + '; '.join(problems))
