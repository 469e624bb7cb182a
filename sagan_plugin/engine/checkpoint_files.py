"""Checkpoint files on disk: integrity checks, the ``last_checkpoint`` pointer, and which file to resume from.

MMEngine writes checkpoints in place, records an absolute path in ``work_dir/last_checkpoint`` and loads
whatever it is given; :class:`AtomicCheckpointHook` and ``tools/train.py`` use these helpers so that a
damaged, partial or moved checkpoint is named and never silently trained on.
"""
import logging
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log

from .safe_checkpoint import allow_runner_checkpoint_types

LAST_CHECKPOINT = 'last_checkpoint'  # the file MMEngine's CheckpointHook and find_latest_checkpoint use
PARTIAL_SUFFIX = '.partial'  # a checkpoint being written; renamed to its final name once complete
_STEP = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')  # MMEngine's default filename_tmpl, by iteration or epoch
# First bytes of files sometimes given where a checkpoint belongs.
_FILE_TYPES = ((b'\x89PNG', 'a PNG image'), (b'\xff\xd8\xff', 'a JPEG image'), (b'GIF8', 'a GIF image'),
               (b'\x1f\x8b', 'a gzip file'), (b'\x93NUMPY', 'a numpy .npy file'))


def verify_checkpoint(path: str) -> None:
    """Raise a ValueError naming ``path`` unless :func:`read_checkpoint` accepts it (archive CRC, plain
    weights only, every floating-point tensor finite); FileNotFoundError or IsADirectoryError if it is no
    file."""
    read_checkpoint(path)


def read_checkpoint(path: str, safe_globals: Sequence = ()) -> Any:
    """The checkpoint in ``path``, loaded with ``weights_only=True`` after checking it; what every reader of
    a checkpoint (tools, ``init_model``, the converters, ``load_from``, ``--resume``) loads it with.

    ``torch.save`` stores each entry with a CRC-32, which ``torch.load`` never checks: bytes changed in the
    middle of a file load as wrong weights, so the archive is tested first (``ZipFile.testzip`` reads every
    entry, about 1 GB/s). A file that is not a zip archive (torch's legacy pickle format, an image, text) is
    named as such. Then every floating-point tensor must be finite: NaN weights would otherwise only show
    up as black images or a NaN loss.

    Args:
        path: the file.
        safe_globals: extra globals to allow while unpickling (``torch.serialization.safe_globals`` entries).
    """
    _verify_archive(path)
    allow_runner_checkpoint_types()
    try:
        with torch.serialization.safe_globals(list(safe_globals)):
            checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(f'checkpoint {path} holds objects that are not plain weights ({_refusal(err)}); '
                         'nothing was loaded. A checkpoint of mmagic or StudioGAN is converted first: '
                         'tools/convert_checkpoint.py --from mmagic|studiogan ... (see the README)') from None
    except (RuntimeError, EOFError) as err:  # a zip archive that torch did not write (no data.pkl, ...)
        raise ValueError(f'{path} is not a PyTorch checkpoint ({str(err).splitlines()[0]})') from None
    check_finite(checkpoint, path)
    return checkpoint


def _verify_archive(path: str) -> None:
    """Raise, naming ``path``, unless it is a complete zip archive whose entries match their CRC."""
    if osp.isdir(path):
        raise IsADirectoryError(f'checkpoint {path} is a folder, not a file; give a checkpoint in it, '
                                f'such as {osp.join(path, "iter_N.pth")}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} does not exist')
    what = _not_a_zip(path)
    if what is not None:
        raise ValueError(f'{path} is not a PyTorch checkpoint ({what})')
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


def _not_a_zip(path: str) -> Optional[str]:
    """What ``path`` is instead of a zip archive, from its first bytes; None when it starts like one."""
    with open(path, 'rb') as f:
        head = f.read(64)
    if head.startswith(b'PK'):
        return None
    if not head:
        return 'an empty file'
    for magic, what in _FILE_TYPES:
        if head.startswith(magic):
            return what
    if head[:1] == b'\x80':
        return ("a pickle: torch's legacy format (before 1.6) or another program's, with no checksums to "
                'verify it by. Load it where you trust it and save it again with torch.save')
    if all(32 <= b < 127 or b in b'\t\r\n' for b in head):
        return f'a text file starting with {head.decode().splitlines()[0][:40]!r}' if head.strip() \
            else 'a file of blanks'
    return f'not a zip archive: it starts with bytes {head[:8].hex(" ")}'


def _refusal(err: Exception) -> str:
    """What torch's weights-only unpickler refused, without torch's advice to turn ``weights_only`` off."""
    match = re.search(r'WeightsUnpickler error: (.*?)(?: was not an allowed global|\. Please|\n|$)', str(err))
    return match.group(1) if match else str(err).splitlines()[0]


def check_finite(checkpoint: Any, path: str) -> None:
    """Raise a ValueError naming ``path`` and its first tensors holding NaN or Inf (with counts).

    Every floating-point tensor counts: weights, EMA, buffers and optimizer state.
    """
    bad = []
    for name, tensor in float_tensors(checkpoint):
        name = name[len('state_dict.'):] if name.startswith('state_dict.') else name  # weights by their key
        nan, inf = int(tensor.isnan().sum()), int(tensor.isinf().sum())
        if nan or inf:
            bad.append(f'{name} ({nan} NaN, {inf} Inf of {tensor.numel()})')
    if bad:
        more = f' and {len(bad) - 10} more' if len(bad) > 10 else ''
        raise ValueError(f'checkpoint {path} holds non-finite values in {len(bad)} tensors: ' +
                         ', '.join(bad[:10]) + more + '. The run diverged before it was saved or the file '
                         'was damaged; use an earlier checkpoint')


def float_tensors(tree: Any, prefix: str = '') -> Iterator[Tuple[str, torch.Tensor]]:
    """(dotted name, tensor) of each floating-point (or complex) tensor in nested dicts, lists and tuples."""
    if isinstance(tree, torch.Tensor):
        if tree.is_floating_point() or tree.is_complex():
            yield prefix, tree
    elif isinstance(tree, dict):
        for key, value in tree.items():
            yield from float_tensors(value, f'{prefix}.{key}' if prefix else str(key))
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            yield from float_tensors(value, f'{prefix}.{i}')


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
