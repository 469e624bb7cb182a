"""Images from anywhere (another codebase, ``tools/sample.py --out-dir``) as a batch the metrics score exactly
as they score generated images: uint8 RGB, at the size of the real images, nothing resized or blended.

Inputs:

* a folder of images (PNG, JPEG, ... at any depth): no classes;
* a folder with class sub-folders (``<class name or id>/.../<image>``) when the model has classes;
* a folder written by ``tools/sample.py --out-dir``: its ``manifest.json`` gives each PNG's class;
* any folder with an explicit ``manifest``: JSON (as ``tools/sample.py``'s, or ``{"file": class}``) or CSV
  (``file,class`` rows); every image of the folder must be listed, every listed file must exist;
* an ``.npz`` with ``images`` uint8 [N, H, W, 3] or [N, 3, H, W] and optional ``labels`` [N] (ids or names).

Refused, naming the file: an image at another size than ``resolution`` (FID moves with the size, through the
network's resize, and the evaluation resizes real images with a dataset-specific method that cannot be
reproduced here), mixed sizes, an image with transparency (the colour under it is a choice that moves FID;
fully opaque alpha is dropped), 16-bit, float, CMYK and other modes, an unreadable or truncated file, an empty
folder, a class the model lacks. Grey images are repeated to three channels, as Fashion-MNIST's dataset and
the folder dataset do for real images.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import print_log
from PIL import Image
from torch import Tensor

from sagan_plugin.datasets.folder_image import has_alpha
from sagan_plugin.datasets.folder_scan import IMAGE_EXTENSIONS, scan_folder, summary
from sagan_plugin.datasets.image_file import decode_problem, read_header
from .image_manifest import SAMPLE_MANIFEST, Entry, class_id, entry_class, read_manifest

# 8-bit modes read without a choice: grey repeated to RGB, a palette looked up, opaque alpha dropped.
READ_MODES = ('RGB', 'L', 'P', 'RGBA', 'LA', 'PA')
LISTED = 5  # offending files named in an error


def load_image_set(path: str,
                   resolution: Optional[int] = None,
                   class_names: Optional[Sequence[str]] = None,
                   manifest: Optional[str] = None) -> Tuple[Tensor, Optional[np.ndarray]]:
    """The images of ``path`` as uint8 RGB [N, 3, H, W] and their class ids int64 [N].

    Args:
        path: a folder or an ``.npz`` (see the module docstring).
        resolution: the side every image must have (the real images'); None: any, but one for all.
        class_names: the model's classes; None (unconditional) gives no class ids, whatever the input says.
        manifest: a JSON or CSV file naming each image's class (for a folder only).

    Returns:
        ``(images, labels)``; ``labels`` is None when ``class_names`` is None or the input gives no classes.
    """
    if not osp.exists(path):
        raise FileNotFoundError(f'image set {path} does not exist; give a folder of images or an .npz file')
    if osp.isfile(path):
        if not path.lower().endswith('.npz'):
            raise ValueError(f'image set {path}: expected a folder of images or an .npz file')
        if manifest is not None:
            raise ValueError(f'manifest {manifest} given for {path}: an .npz gives its classes in "labels"')
        images, labels = _load_npz(path, resolution, class_names)
    else:
        files, labels = folder_files(path, class_names, manifest)
        images = read_images(files, resolution, path)
    return images, labels


def folder_files(root: str, class_names: Optional[Sequence[str]],
                 manifest: Optional[str]) -> Tuple[List[str], Optional[np.ndarray]]:
    """Image paths of a folder (sorted, or in manifest order) and their class ids (None: no classes)."""
    written = osp.join(root, SAMPLE_MANIFEST)
    manifest = manifest if manifest is not None else (written if osp.isfile(written) else None)
    if manifest is None and class_names and _class_folders(root):
        scan = scan_folder(root, conditional=True)
        _log_left_out(root, scan, None)
        ids = [class_id(name, class_names, f'{root}: class folder {name!r}') for name in scan.classes]
        return [p for p, _ in scan.files], np.array([ids[label] for _, label in scan.files], dtype=np.int64)
    scan = scan_folder(root, conditional=False)
    _log_left_out(root, scan, manifest)
    if manifest is None:
        return [p for p, _ in scan.files], None
    entries = read_manifest(manifest)
    files = [e.file if osp.isabs(e.file) else osp.join(root, e.file) for e in entries]
    _check_listing(root, manifest, files, [p for p, _ in scan.files])
    return files, _manifest_labels(entries, class_names, manifest)


def _class_folders(root: str) -> bool:
    """Whether ``root`` holds sub-folders (classes); images beside them would belong to no class."""
    with os.scandir(root) as entries:
        entries = [e for e in entries if not e.name.startswith('.')]
    loose = sorted(e.path for e in entries if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS))
    if loose and any(e.is_dir() for e in entries):
        raise ValueError(
            f'{root} holds class sub-folders and {len(loose)} images beside them, in no class (e.g. '
            f'{loose[0]}); move them into a class folder, or give a manifest')
    return any(e.is_dir() for e in entries)


def _log_left_out(root: str, scan, manifest: Optional[str]) -> None:
    """Say what the scan passed over (not the manifest itself)."""
    if manifest is not None:
        scan.non_images = [p for p in scan.non_images if osp.realpath(p) != osp.realpath(manifest)]
    left_out = summary(scan)
    if left_out:
        print_log(f'{root}: {left_out}', 'current')


def _check_listing(root: str, manifest: str, listed: List[str], found: List[str]) -> None:
    """Every listed file exists and every image of the folder is listed (none scored or dropped unseen)."""
    missing = [f for f in listed if not osp.isfile(f)]
    if missing:
        raise FileNotFoundError(f'manifest {manifest} lists {len(missing)} files that do not exist, e.g. '
                                f'{", ".join(missing[:LISTED])}')
    unlisted = sorted(set(map(osp.realpath, found)) - set(map(osp.realpath, listed)))
    if unlisted:
        raise ValueError(f'{root} holds {len(unlisted)} images that manifest {manifest} does not list, e.g. '
                         f'{", ".join(unlisted[:LISTED])}; list them or move them out of the folder')


def _manifest_labels(entries: List[Entry], class_names: Optional[Sequence[str]],
                     manifest: str) -> Optional[np.ndarray]:
    """Class ids of the entries: all given or none (a manifest half with classes is an error)."""
    given = [e.value is not None for e in entries]
    if not any(given) or not class_names:
        return None
    if not all(given):
        raise ValueError(f'manifest {manifest}: {entries[given.index(False)].file} has no class but other '
                         'images have one; give every image a class, or none')
    return np.array([entry_class(e, class_names, f'manifest {manifest}') for e in entries], dtype=np.int64)


def read_images(files: List[str], resolution: Optional[int], where: str) -> Tensor:
    """uint8 RGB [N, 3, H, W] of ``files``; every header is checked before anything is decoded."""
    if not files:
        raise ValueError(f'{where}: no images to score')
    sizes = []
    for path in files:
        header = read_header(path)
        if header is None:
            raise ValueError(f'image {path} cannot be read ({decode_problem(path) or "no image header"}); '
                             'replace or delete it')
        if header[2] not in READ_MODES:
            raise ValueError(_mode_message(path, header[2]))
        sizes.append(header[:2])
    _check_sizes(files, sizes, resolution, where)
    return torch.from_numpy(np.stack([_decode(path) for path in files])).permute(0, 3, 1, 2).contiguous()


def _mode_message(path: str, mode: str) -> str:
    kind = '16-bit or float' if mode.startswith(('I', 'F')) else 'a colour space other than RGB' \
        if mode in ('CMYK', 'YCbCr', 'LAB', 'HSV') else 'not 8-bit RGB or grey'
    return (f'image {path} has mode {mode} ({kind}); its 8-bit RGB reading is a choice that moves FID, so it '
            f'is not made here: save the images as 8-bit RGB (modes read: {", ".join(READ_MODES)})')


def _check_sizes(files: List[str], sizes: List[Tuple[int, int]], resolution: Optional[int],
                 where: str) -> None:
    """Every (width, height) equals ``resolution`` squared, or, without it, the first image's."""
    expected = (resolution, resolution) if resolution else sizes[0]
    offenders = [(path, size) for path, size in zip(files, sizes) if size != expected]
    if not offenders:
        return
    why = ('the size of the real images the statistics were computed from; FID depends on the size through '
           'the network\'s resize, and the evaluation resizes real images by a method of their dataset, so '
           'other sizes are not resized here: export the images at that size') if resolution else \
        f'the size of the first image, {files[0]} (a set has one size)'
    listed = ', '.join(f'{path} ({w}x{h})' for path, (w, h) in offenders[:LISTED])
    raise ValueError(f'{where}: {len(offenders)} of {len(files)} images are not {expected[0]}x{expected[1]}, '
                     f'{why}; e.g. {listed}')


def _decode(path: str) -> np.ndarray:
    """uint8 RGB [H, W, 3] of one image; transparency is refused, opaque alpha dropped, grey repeated."""
    try:
        with Image.open(path) as image:
            image.load()
            if not has_alpha(image):
                return np.asarray(image.convert('RGB'))
            rgba = np.asarray(image.convert('RGBA'))
    except Exception as err:  # PIL raises many types for broken files; decode_problem says why in words
        raise ValueError(
            f'image {path} cannot be read ({decode_problem(path) or f"{type(err).__name__}: {err}"}'
            '); replace or delete it') from err
    transparent = int((rgba[..., 3] < 255).sum())
    if transparent:
        raise ValueError(f'image {path} has transparency ({transparent} pixels with alpha < 255): generated '
                         'images have none, and the colour put under transparent pixels moves FID; flatten '
                         'the images onto the background the real images use and save them as RGB')
    return np.ascontiguousarray(rgba[..., :3])


def _load_npz(path: str, resolution: Optional[int],
              class_names: Optional[Sequence[str]]) -> Tuple[Tensor, Optional[np.ndarray]]:
    """``images`` uint8 [N, H, W, 3] or [N, 3, H, W] and optional ``labels`` [N] of an .npz (no pickles)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files if key in ('images', 'labels')}
            keys = list(data.files)
    except Exception as err:  # zipfile, OSError, ValueError (object arrays): the file is not what we read
        raise ValueError(
            f'{path} cannot be read as an .npz of arrays ({type(err).__name__}: {err})') from None
    if 'images' not in arrays:
        raise ValueError(f'{path} has no "images" array (it holds {keys}); write it with '
                         'np.savez(path, images=uint8 [N, H, W, 3], labels=int [N])')
    images = arrays['images']
    if images.dtype != np.uint8 or images.ndim != 4 or 3 not in (images.shape[1], images.shape[-1]):
        raise ValueError(f'{path}: "images" must be uint8 [N, H, W, 3] or [N, 3, H, W], got {images.dtype} '
                         f'{list(images.shape)}; from floats in [-1, 1]: ((x + 1) * 127.5).round().clip(0, '
                         '255).astype(np.uint8), the rounding the metrics apply to generated images')
    if not len(images):
        raise ValueError(f'{path}: "images" holds no images')
    images = images.transpose(0, 3, 1, 2) if images.shape[-1] == 3 else images
    size = images.shape[2:]
    if resolution and tuple(size) != (resolution, resolution):
        raise ValueError(f'{path}: the images are {size[1]}x{size[0]}, expected {resolution}x{resolution}, '
                         'the size of the real images the statistics were computed from; export them at '
                         'that size (FID depends on it)')
    labels = arrays.get('labels')  # read only for a model with classes (None: unconditional)
    labels = _npz_labels(path, labels, len(images),
                         class_names) if labels is not None and class_names else None
    return torch.from_numpy(np.ascontiguousarray(images)), labels


def _npz_labels(path: str, labels: np.ndarray, count: int, class_names: Sequence[str]) -> np.ndarray:
    """Class ids int64 [count] from an .npz's ``labels`` (ids or names), each checked."""
    if labels.shape != (count, ):
        raise ValueError(f'{path}: "labels" must be [N] = [{count}] like "images", got {list(labels.shape)}')
    if labels.dtype.kind in 'US':
        return np.array([class_id(str(v), class_names, f'{path}: labels[{i}]') for i, v in enumerate(labels)],
                        dtype=np.int64)
    if labels.dtype.kind not in 'iu':
        raise ValueError(f'{path}: "labels" must be integer class ids or class names, got {labels.dtype}')
    bad = np.flatnonzero((labels < 0) | (labels >= len(class_names)))
    if len(bad):
        class_id(
            int(labels[bad[0]]), class_names,
            f'{path}: labels[{bad[0]}] (and {len(bad) - 1} more outside the range)')
    return labels.astype(np.int64)
