"""Decoded, resized uint8 images of a folder data set, kept in memory or in a ``.npy`` file.

Decoding a PNG costs from ~0.1 ms (a 32 px icon) to seconds (a 16,000 px poster); a training step at 32 px
on a CPU costs ~0.1 s for 64 images. Decoded once into an array of [N, size, size, 3] uint8 (3 KiB per image
at 32 px, 48 KiB at 128 px), the data set's per-item cost is a copy, whatever the sources' sizes.

A ``.npy`` cache is written next to a ``.json`` that says what it holds (the files with their sizes and
modification times, the decode settings); a cache that does not match the folder is decoded again, and the
log says why. Arrays are written to a temporary name and renamed, so an interrupted run leaves no half file.
"""
import hashlib
import json
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np


def file_signature(paths: Sequence[str], root: str) -> str:
    """SHA-256 over each file's path below ``root``, size and modification time: changes when a file is
    added, removed, renamed, moved to another class or rewritten (statistics and caches compare it)."""
    digest = hashlib.sha256()
    for path in paths:
        stat = os.stat(path)
        digest.update(f'{osp.relpath(path, root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n'.encode())
    return digest.hexdigest()


def cache_key(signature: str, settings: dict) -> dict:
    """What a cache file must have been made from: the files' signature and the decode settings."""
    return dict(format='sagan_plugin.image_folder_cache/1', files=signature, **settings)


def load_cache(path: str, key: dict) -> Tuple[Optional[np.ndarray], Optional[List[int]], str]:
    """(images [N, S, S, 3] uint8 memory-mapped, indices of the files they are, '') from ``path``; or
    (None, None, why not) when it is missing or made from other files or settings."""
    meta_path = f'{path}.json'
    if not (osp.isfile(path) and osp.isfile(meta_path)):
        return None, None, f'no cache at {path} yet'
    try:
        with open(meta_path) as f:
            meta = json.load(f)
        stored = meta['key']
        kept = [int(i) for i in meta['kept']]
    except (OSError, ValueError, KeyError, TypeError) as err:
        return None, None, f'{meta_path} is unreadable ({type(err).__name__}: {err})'
    changed = sorted(k for k in set(key) | set(stored) if key.get(k) != stored.get(k))
    if changed:
        return None, None, f'{path} was made from other {", ".join(changed)}'
    images = np.load(path, mmap_mode='r', allow_pickle=False)
    if images.dtype != np.uint8 or len(images) != len(kept):
        return None, None, f'{path} holds {images.shape} {images.dtype}, not the {len(kept)} images listed'
    return images, kept, ''


def save_cache(path: str, key: dict, images: np.ndarray, kept: List[int]) -> None:
    """Write ``images`` and their ``.json`` atomically (temporary names, then renamed)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'wb') as f:
        np.save(f, np.ascontiguousarray(images), allow_pickle=False)
    with open(f'{tmp}.json', 'w') as f:
        json.dump(dict(key=key, kept=list(kept)), f)
    if osp.exists(f'{path}.json'):  # an old .json must never describe the new array
        os.remove(f'{path}.json')
    os.replace(tmp, path)
    os.replace(f'{tmp}.json', f'{path}.json')
