"""Real-image feature statistics (``inception_pkl``): extracted in order, written once, checked on reuse.

A statistics file is a pickle of a plain dict: ``format`` (STATS_FORMAT), ``extractor`` (the network's
``identity()``), ``dataset`` (:func:`dataset_fingerprint`), ``num_images`` (the first N of the dataset),
``real_mean`` float64 [D], ``real_cov`` float64 [D, D] (np.cov) and, for KID / precision-recall,
``real_feats`` float32 [N, D], for per-class metrics also ``real_labels`` int64 [N] (each image's class, from
its ``gt_label``), and ``checksum`` (SHA-256 of the arrays, checked on reading: a damaged file is named, never
used). Files written before labels were stored still serve the metrics that need none. Ours because mmagic's
cache reuses any file whose name matches, so a file made with another network, resize, dataset or image count
silently gives a wrong FID; :func:`check_stats` names each mismatch.
Files are read by an unpickler that accepts only numpy arrays and builtins (no code runs); the features come
from real_features.py.
"""
import hashlib
import io
import os
import os.path as osp
import pickle
import re
from typing import Any, Dict, Optional

import numpy as np

STATS_FORMAT = 'sagan_plugin.feature_stats/1'
# The only globals a stats pickle may reference: numpy's array/dtype/scalar reconstructors (numpy 1 and 2).
_ALLOWED_GLOBALS = {(mod, name)
                    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray', 'numpy.core.numeric',
                                'numpy._core.numeric')
                    for name in ('_reconstruct', 'scalar', '_frombuffer')} | {('numpy', 'ndarray'),
                                                                              ('numpy', 'dtype')}
# Transform attributes filled in while reading (mmagic's LoadImageFromFile: image cache, backend).
_STATE_ATTRS = {'cache', 'file_backend', 'file_client'}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except numpy's array reconstruction helpers."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f'refusing to load {module}.{name}: a statistics file may only hold '
                                         'numpy arrays, numbers, strings, lists and dicts')
        return super().find_class(module, name)


def _is_config(name: str, value: Any) -> bool:
    """Whether a transform attribute is configuration (plain data), not runtime state."""
    if name.startswith('_') or name in _STATE_ATTRS:
        return False
    if isinstance(value, (list, tuple)):
        return all(_is_config('', v) for v in value)
    if isinstance(value, dict):
        return all(_is_config('', v) for v in value.values())
    return value is None or isinstance(value, (bool, int, float, str))


def dataset_fingerprint(dataset) -> Dict[str, Any]:
    """Which images a dataset yields (type, data_root, ann_file, data_prefix, split, pipeline and, where the
    dataset offers ``content_fingerprint()``, its files' names, sizes and times), not how many.

    Each transform is listed with its configuration attributes, not its ``repr`` (mmagic's ``Resize`` leaves
    its backend out of it, and cv2 and PIL resize differently); runtime state is left out, so the fingerprint
    is the same before and after the dataset has been read.
    """
    norm = lambda path: osp.normpath(path) if path else path  # noqa: E731  './data/x/' == 'data/x'
    transforms = getattr(getattr(dataset, 'pipeline', None), 'transforms', None)
    pipeline = re.sub(r' at 0x[0-9a-fA-F]+', '', repr(getattr(dataset, 'pipeline', None))) \
        if transforms is None else '; '.join(
            f'{type(t).__name__}({sorted((k, repr(v)) for k, v in vars(t).items() if _is_config(k, v))})'
            for t in transforms)
    fingerprint = dict(
        type=type(dataset).__name__,
        data_root=norm(getattr(dataset, 'data_root', None)),
        ann_file=norm(getattr(dataset, 'ann_file', None)),
        data_prefix=repr(getattr(dataset, 'data_prefix', None)),
        split=getattr(dataset, 'split', None),
        pipeline=pipeline)
    if hasattr(dataset,
               'content_fingerprint'):  # a folder's files can change under the same name (ImageFolder)
        fingerprint['content'] = dataset.content_fingerprint()
    return fingerprint


def make_stats(feats: np.ndarray,
               extractor: dict,
               dataset: dict,
               save_features: bool,
               labels: Optional[np.ndarray] = None) -> dict:
    """The statistics dict of features ``feats`` [N, D]: mean, unbiased covariance (float64), provenance;
    ``labels`` int [N] (the images' classes, for per-class metrics) are stored as ``real_labels``."""
    if labels is not None and np.shape(labels) != (len(feats), ):
        raise ValueError(f'{len(feats)} feature rows but labels of shape {np.shape(labels)}')
    feats64 = np.asarray(feats, dtype=np.float64)
    stats = dict(
        format=STATS_FORMAT,
        extractor=dict(extractor),
        dataset=dict(dataset),
        num_images=len(feats),
        real_mean=feats64.mean(axis=0),
        real_cov=np.cov(feats64, rowvar=False))
    if save_features:
        stats['real_feats'] = np.asarray(feats, dtype=np.float32)
    if labels is not None:
        stats['real_labels'] = np.asarray(labels, dtype=np.int64)
    return stats


def save_stats(path: str, stats: dict) -> None:
    """Write a statistics dict atomically (a concurrent or interrupted run never leaves half a file)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(f'{path}.tmp{os.getpid()}', 'wb') as f:
        pickle.dump(dict(stats, checksum=_checksum(stats)), f, protocol=4)
    os.replace(f'{path}.tmp{os.getpid()}', path)


def load_stats(path: str) -> dict:
    """Read a statistics file with the numpy-only unpickler; error if it is not one of ours.

    Raises:
        pickle.UnpicklingError: the file references code (refused, never run).
        ValueError: the file is damaged (truncated, bytes changed) or holds something else; the message
            names it and says to delete it, after which the metric computes and writes it again.
    """
    with open(path, 'rb') as f:
        data = f.read()
    try:
        stats = _NumpyOnlyUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as err:
        if 'refusing to load' in str(err):
            raise pickle.UnpicklingError(f'statistics file {path}: {err}') from None
        raise ValueError(_damaged(path, err)) from None
    except Exception as err:  # a damaged pickle fails in many ways: EOFError, KeyError, ValueError, ...
        raise ValueError(_damaged(path, err)) from None
    if isinstance(stats, dict) and 'checksum' in stats and stats['checksum'] != _checksum(stats):
        raise ValueError(_damaged(path, 'its arrays do not match the checksum written with them'))
    if not isinstance(stats, dict) or stats.get('format') != STATS_FORMAT:
        found = stats.get('format') if isinstance(stats, dict) else type(stats).__name__
        raise ValueError(f'{path} is not a sagan_plugin statistics file (format {found!r}, expected '
                         f'{STATS_FORMAT!r}); write it with tools/calc_inception_stats.py')
    return stats


def _checksum(stats: dict) -> str:
    """SHA-256 of the statistics arrays: a byte changed inside one would otherwise load as another FID."""
    digest = hashlib.sha256()
    for key in ('real_mean', 'real_cov', 'real_feats', 'real_labels'):  # absent keys leave old sums unchanged
        if key in stats:
            digest.update(key.encode())
            digest.update(np.ascontiguousarray(stats[key]).tobytes())
    return digest.hexdigest()


def _damaged(path: str, err) -> str:
    why = f'{type(err).__name__}: {err}' if isinstance(err, Exception) else err
    return (f'statistics file {path} is damaged or not a statistics file ({why}); '
            'delete it (the metric then computes and writes it again) or rebuild it with '
            '"python tools/calc_inception_stats.py CONFIG --force"')


def check_stats(stats: dict,
                path: str,
                extractor: dict,
                dataset: Optional[dict],
                num_images: Optional[int],
                need_features: bool,
                need_labels: bool = False) -> None:
    """Raise a ValueError naming every way ``stats`` (from ``path``) differs from what the metric computes.

    ``dataset`` / ``num_images`` None are not checked; ``need_features``: KID, precision/recall or per-class
    metrics are on; ``need_labels``: per-class metrics are on (the file must hold ``real_labels``).
    """
    problems = [
        f'feature network {k}: file has {stats["extractor"].get(k)!r}, metric uses {v!r}'
        for k, v in extractor.items() if stats['extractor'].get(k) != v
    ]
    problems += [
        f'dataset {k}: file has {stats["dataset"].get(k)!r}, metric uses {v!r}'
        for k, v in (dataset or {}).items() if stats['dataset'].get(k) != v
    ]
    if num_images is not None and stats['num_images'] != num_images:
        problems.append(f'number of images: file has {stats["num_images"]}, metric uses {num_images}')
    if need_features and 'real_feats' not in stats:
        problems.append(
            'KID / precision-recall / per-class metrics need the raw features, but the file holds '
            'only mean/cov (it was written without --save-features)')
    if need_labels and 'real_labels' not in stats:
        problems.append('per-class metrics need the class of each real image (real_labels), but the file has '
                        'none (written by a metric without per-class figures, or before labels were stored)')
    if problems:
        raise ValueError(
            f'stale or mismatched statistics file {path}:\n  - ' + '\n  - '.join(problems) +
            '\nDelete it (the metric then recomputes and writes it) or rebuild it with '
            '"python tools/calc_inception_stats.py CONFIG --force", or point inception_pkl elsewhere.')
