"""What a folder of images holds: the classes (top-level sub-folders), each class's image files (at any depth
below it), and what was left out and why, so that nothing is dropped in silence.

Symbolic links are followed (data sets are often assembled from links), each real folder once: a link back to
a folder already being listed (a loop) is reported and not followed.
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp', '.gif')


@dataclass
class FolderScan:
    """The result of :func:`scan_folder`.

    Attributes:
        classes: class names (top-level folder names, sorted); empty for an unconditional scan.
        files: (path, class id) per image file, sorted by path; class id -1 when unconditional.
        non_images: files left out for their extension (``.DS_Store``, ``Thumbs.db``, ``notes.txt``, ...).
        hidden: names starting with '.' that were left out (files and folders).
        loops: (link, real folder) of symbolic links not followed because they lead back to a listed folder.
        dropped: class name -> image count, for classes left out for having fewer than the minimum.
        broken_links: links whose target does not exist.
    """
    classes: List[str] = field(default_factory=list)
    files: List[Tuple[str, int]] = field(default_factory=list)
    non_images: List[str] = field(default_factory=list)
    hidden: List[str] = field(default_factory=list)
    loops: List[Tuple[str, str]] = field(default_factory=list)
    dropped: Dict[str, int] = field(default_factory=dict)
    broken_links: List[str] = field(default_factory=list)


def _walk(folder: str, scan: FolderScan, extensions: Tuple[str, ...], ancestors: Tuple[str,
                                                                                       ...]) -> List[str]:
    """Image files at any depth below ``folder`` (sorted), recording what is left out in ``scan``."""
    real = osp.realpath(folder)
    if real in ancestors:
        scan.loops.append((folder, real))
        return []
    found = []
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith('.'):
                scan.hidden.append(entry.path)
            elif entry.is_dir():  # follows links
                found += _walk(entry.path, scan, extensions, ancestors + (real, ))
            elif entry.is_symlink() and not osp.exists(entry.path):
                scan.broken_links.append(entry.path)
            elif entry.name.lower().endswith(extensions):
                found.append(entry.path)
            else:
                scan.non_images.append(entry.path)
    return found


def scan_folder(root: str,
                conditional: bool = True,
                min_images_per_class: int = 1,
                extensions: Sequence[str] = IMAGE_EXTENSIONS) -> FolderScan:
    """List the images of ``root``.

    Args:
        root: the folder; ``root/<class>/.../<image>`` when ``conditional``, else images at any depth.
        conditional: classes are the top-level sub-folders (images directly in ``root`` are then an error:
            they belong to no class).
        min_images_per_class: classes with fewer image files are left out (``scan.dropped``).
        extensions: file name endings taken as images (case-insensitive).

    Returns:
        A :class:`FolderScan`; raises FileNotFoundError for a missing folder and ValueError when no image
        is left.
    """
    if not osp.isdir(root):
        raise FileNotFoundError(f'image folder {root!r} does not exist (or is not a folder); set data_root, '
                                'e.g. --cfg-options data_root=/path/to/my_images')
    scan, extensions = FolderScan(), tuple(e.lower() for e in extensions)
    if not conditional:
        scan.files = [(path, -1) for path in _walk(root, scan, extensions, ())]
        _require_images(root, scan, 'below it')
        return scan
    top = _walk_top(root, scan, extensions)
    kept = [name for name, files in top.items() if len(files) >= min_images_per_class]
    scan.dropped = {name: len(files) for name, files in top.items() if len(files) < min_images_per_class}
    scan.classes = kept
    scan.files = [(path, label) for label, name in enumerate(kept) for path in top[name]]
    _require_images(root, scan, f'in class folders with >= {min_images_per_class} images')
    return scan


def _walk_top(root: str, scan: FolderScan, extensions: Tuple[str, ...]) -> Dict[str, List[str]]:
    """Class name -> its image files; images lying directly in ``root`` are an error naming one."""
    classes, loose, real = {}, [], osp.realpath(root)
    with os.scandir(root) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith('.'):
                scan.hidden.append(entry.path)
            elif entry.is_dir():
                classes[entry.name] = _walk(entry.path, scan, extensions, (real, ))
            elif entry.name.lower().endswith(extensions):
                loose.append(entry.path)
            else:
                scan.non_images.append(entry.path)
    if loose:
        raise ValueError(
            f'image folder {root}: {len(loose)} images lie directly in it (e.g. {loose[0]}), outside any '
            'class folder; move them into <class name>/ sub-folders, or train an unconditional model on the '
            'whole folder (train_dataloader.dataset.conditional=False, model.num_classes=0)')
    return classes


def _require_images(root: str, scan: FolderScan, where: str) -> None:
    if not scan.files:
        extra = f'; classes left out for too few images: {scan.dropped}' if scan.dropped else ''
        raise ValueError(
            f'image folder {root}: no image files {where} (extensions {", ".join(IMAGE_EXTENSIONS)})'
            f'{extra}')


def summary(scan: FolderScan, examples: int = 3) -> Optional[str]:
    """One line on everything left out, or None when nothing was."""
    parts = []
    for what, items in (('files that are not images by their extension', scan.non_images),
                        ('hidden files and folders', scan.hidden), ('broken links', scan.broken_links)):
        if items:
            parts.append(f'{len(items)} {what} (e.g. {", ".join(items[:examples])})')
    if scan.loops:
        parts.append(f'{len(scan.loops)} symbolic links not followed because they loop back '
                     f'(e.g. {scan.loops[0][0]} -> {scan.loops[0][1]})')
    return 'left out ' + '; '.join(parts) if parts else None
