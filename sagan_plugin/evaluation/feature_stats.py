"""Real-image feature statistics files (``inception_pkl``): written once, validated on every reuse.

A statistics file is a pickle of a plain dict::

    format        'sagan_plugin.feature_stats/1'
    extractor     the feature network's identity(): name, weights sha256, resize, input scaling, dim
    dataset       dataset_fingerprint(): dataset type, data_root, ann_file/split, pipeline
    num_images    how many images (the first num_images of the dataset, in order)
    real_mean     float64 [D]        mean of the features      (key name as mmagic's FID expects)
    real_cov      float64 [D, D]     unbiased covariance (np.cov, rowvar=False)
    real_feats    float32 [N, D] or absent: the raw features, needed by KID and precision/recall

Reusing a file made with another network, another resize, another dataset or another image count would give a
silently wrong FID; :func:`check_stats` turns each of these into an error that names the mismatch. Files are
read with an unpickler that only accepts numpy arrays and builtins, so a stats file cannot run code.
"""
import io
import os
import os.path as osp
import pickle
import re
from typing import Any, Dict, Optional

import numpy as np

STATS_FORMAT = 'sagan_plugin.feature_stats/1'
# The only globals a stats pickle may reference: numpy's array/dtype/scalar reconstructors (numpy 1.x and
# 2.x).
_ALLOWED_GLOBALS = {(mod, name)
                    for mod in ('numpy.core.multiarray', 'numpy._core.multiarray', 'numpy.core.numeric',
                                'numpy._core.numeric')
                    for name in ('_reconstruct', 'scalar', '_frombuffer')} | {('numpy', 'ndarray'),
                                                                              ('numpy', 'dtype')}

# Transform attributes that hold state filled in while reading (mmagic's LoadImageFromFile: image cache,
# backend).
_STATE_ATTRS = {'cache', 'file_backend', 'file_client'}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except numpy's array reconstruction helpers."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f'refusing to load {module}.{name}: a statistics file may only hold '
                                         'numpy arrays, numbers, strings, lists and dicts')
        return super().find_class(module, name)


def dataset_fingerprint(dataset) -> Dict[str, Any]:
    """Which images a dataset yields, independent of how many are used.

    Args:
        dataset: an MMEngine dataset (mmagic ``ImageNet``, our ``FashionMNIST``, ...).

    Returns:
        dict of type name, data_root, ann_file, data_prefix, split and the pipeline. ``num_samples`` and the
        length are left out on purpose: the image count is checked separately as ``num_images``.
    """
    return dict(
        type=type(dataset).__name__,
        data_root=_norm_path(getattr(dataset, 'data_root', None)),
        ann_file=_norm_path(getattr(dataset, 'ann_file', None)),
        data_prefix=repr(getattr(dataset, 'data_prefix', None)),
        split=getattr(dataset, 'split', None),
        pipeline=_pipeline_fingerprint(getattr(dataset, 'pipeline', None)))


def _pipeline_fingerprint(pipeline) -> str:
    """Every transform's class and configuration attributes.

    A transform's ``__repr__`` is not enough (mmagic's ``Resize`` leaves out its backend, and cv2 and PIL
    resize differently), so the attributes are listed. Runtime state is left out -- private names, caches and
    anything that is not plain data (e.g. the file backend ``LoadImageFromFile`` creates on its first call) --
    so the fingerprint is the same before and after the dataset has been read.
    """
    transforms = getattr(pipeline, 'transforms', None)
    if transforms is None:
        return re.sub(r' at 0x[0-9a-fA-F]+', '', repr(pipeline))
    return '; '.join(
        f'{type(t).__name__}({sorted((k, repr(v)) for k, v in vars(t).items() if _is_config(k, v))})'
        for t in transforms)


def _is_config(name: str, value: Any) -> bool:
    """Whether a transform attribute is configuration (plain data), not runtime state."""
    if name.startswith('_') or name in _STATE_ATTRS:
        return False
    if isinstance(value, (list, tuple)):
        return all(_is_config('', v) for v in value)
    if isinstance(value, dict):
        return all(_is_config('', v) for v in value.values())
    return value is None or isinstance(value, (bool, int, float, str))


def _norm_path(path: Optional[str]) -> Optional[str]:
    """Normalise './data/x/' and 'data/x' to the same string (relative paths stay relative)."""
    return osp.normpath(path) if path else path


def make_stats(feats: np.ndarray, extractor: dict, dataset: dict, save_features: bool) -> dict:
    """The statistics dict of features ``feats`` [N, D]: mean, unbiased covariance (float64), provenance."""
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
    return stats


def save_stats(path: str, stats: dict) -> None:
    """Write a statistics dict atomically (a concurrent or interrupted run never leaves half a file)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'wb') as f:
        pickle.dump(stats, f, protocol=4)
    os.replace(tmp, path)


def load_stats(path: str) -> dict:
    """Read a statistics file with the numpy-only unpickler; error if it is not one of ours."""
    with open(path, 'rb') as f:
        stats = _NumpyOnlyUnpickler(io.BytesIO(f.read())).load()
    if not isinstance(stats, dict) or stats.get('format') != STATS_FORMAT:
        found = stats.get('format') if isinstance(stats, dict) else type(stats).__name__
        raise ValueError(f'{path} is not a sagan_plugin statistics file (format {found!r}, expected '
                         f'{STATS_FORMAT!r}); write it with tools/calc_inception_stats.py')
    return stats


def check_stats(stats: dict, path: str, extractor: dict, dataset: Optional[dict], num_images: Optional[int],
                need_features: bool) -> None:
    """Raise a ValueError naming every way ``stats`` differs from what the metric is about to compute.

    Args:
        stats: a dict from :func:`load_stats`.
        path: its file, for the message.
        extractor: the metric's feature network identity.
        dataset: the metric's dataset fingerprint (None: not checked, e.g. a stats-only evaluation).
        num_images: the metric's real image count (None: not checked).
        need_features: whether raw features are required (KID, precision/recall).
    """
    problems = [
        f'feature network {k}: file has {stats["extractor"].get(k)!r}, metric uses {v!r}'
        for k, v in extractor.items() if stats['extractor'].get(k) != v
    ]
    if dataset is not None:
        problems += [
            f'dataset {k}: file has {stats["dataset"].get(k)!r}, metric uses {v!r}'
            for k, v in dataset.items() if stats['dataset'].get(k) != v
        ]
    if num_images is not None and stats['num_images'] != num_images:
        problems.append(f'number of images: file has {stats["num_images"]}, metric uses {num_images}')
    if need_features and 'real_feats' not in stats:
        problems.append('KID / precision-recall need the raw features, but the file holds only mean/cov '
                        '(it was written without --save-features)')
    if problems:
        raise ValueError(
            f'stale or mismatched statistics file {path}:\n  - ' + '\n  - '.join(problems) +
            '\nDelete it (the metric then recomputes and writes it) or rebuild it with '
            '"python tools/calc_inception_stats.py CONFIG --force", or point inception_pkl elsewhere.')
