"""The tools' output paths, checked before the long work (evaluation, generating images) that fills them.

Permission bits do not answer "can I write here" (``os.access`` is always True for root, and says nothing
about read-only mounts), so each check creates and removes a file or folder where the output will go.
"""
import os
import os.path as osp
import tempfile


def check_output_file(path: str, option: str, example: str, create_parents: bool = True) -> None:
    """Raise, naming ``option`` and ``path``, unless a file can be written at ``path``.

    Args:
        path: the file the tool will write.
        option: the command-line option that gave it, for the message (``'--out'``).
        example: a file name to suggest when ``path`` is a folder (``'grid.png'``).
        create_parents: the tool creates missing folders above ``path``; otherwise they must exist.
    """
    if osp.isdir(path):
        raise IsADirectoryError(f'{option} {path} is a folder; give a file name such as '
                                f'{osp.join(path, example)}')
    folder = osp.dirname(osp.abspath(path))
    if not create_parents and not osp.isdir(folder):
        raise FileNotFoundError(f'{option} {path}: folder {folder} does not exist; create it first')
    _probe(folder, f'{option} {path}')


def check_output_folder(path: str, option: str) -> None:
    """Raise, naming ``option`` and ``path``, unless files can be written in the folder ``path`` (which
    the tool creates, with any missing folders above it, if it does not exist)."""
    if osp.exists(path) and not osp.isdir(path):
        raise NotADirectoryError(f'{option} {path} is a file, not a folder')
    _probe(osp.abspath(path), f'{option} {path}')


def _probe(folder: str, what: str) -> None:
    """Create and remove a file in ``folder``, or, where it does not exist yet, a folder in its nearest
    existing ancestor (which must be a folder)."""
    existing = folder
    while not osp.exists(existing):
        existing = osp.dirname(existing)
    if not osp.isdir(existing):
        raise NotADirectoryError(f'{what}: {existing} is a file, not a folder')
    try:
        if existing == folder:
            with tempfile.NamedTemporaryFile(dir=folder, prefix='.write_test'):
                pass
        else:
            os.rmdir(tempfile.mkdtemp(dir=existing, prefix='.write_test'))
    except OSError as err:
        raise PermissionError(f'{what}: cannot write in {existing} ({err.strerror or err})') from None
