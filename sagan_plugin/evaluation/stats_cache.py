"""Real-image feature statistics (``inception_pkl``): extracted in order, written once, checked on reuse.

A statistics file is a pickle of a plain dict: ``format`` (STATS_FORMAT), ``extractor`` (the network's
``identity()``), ``dataset`` (:func:`dataset_fingerprint`), ``num_images`` (the first N of the dataset),
``real_mean`` float64 [D], ``real_cov`` float64 [D, D] (np.cov) and, for KID / precision-recall,
``real_feats`` float32 [N, D], for per-class metrics also ``real_labels`` int64 [N] (each image's class, from
its ``gt_label``), and ``checksum`` (SHA-256 of the arrays, checked on reading: a damaged file is named, never
used). Files written before labels were stored still serve the metrics that need none. Ours because mmagic's
cache reuses any file whose name matches, so a file made with another network, resize, dataset or image count
silently gives a wrong FID; :func:`check_stats` names each mismatch.
Files are read by an unpickler that accepts only numpy arrays and builtins (no code runs); real images by a
loader that leaves the global RNG alone (mmagic's draws from it, so samples would depend on the cache).
"""
import hashlib
import io
import math
import os
import os.path as osp
import pickle
import re
from typing import Any, Callable, Dict, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import all_gather, get_dist_info, is_main_process
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

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


def batch_images(data_samples, real_key: str) -> Tensor:
    """Real images [B, 3, H, W] from preprocessed data samples (one stacked sample or a list of them)."""
    samples = data_samples if isinstance(data_samples, (list, tuple)) else [data_samples]
    if not all(hasattr(s, real_key) for s in samples):
        raise KeyError(f'real images not found as data_samples.{real_key}: the evaluation pipeline must '
                       f'pack them under {real_key!r} (gt_img: load with key=\'gt\', end with PackInputs)')
    imgs = [getattr(s, real_key) for s in samples]
    return imgs[0] if len(imgs) == 1 and imgs[0].dim() == 4 else torch.stack(imgs)


def annotation_labels(dataset, num_images: int) -> Optional[np.ndarray]:
    """Class ids int64 [num_images] of the first items from the dataset's annotations (``get_data_info``,
    no image decoded), or None when it has none: the same ids a pass of the pipeline would give."""
    infos = [dataset.get_data_info(i) for i in range(num_images)] if hasattr(dataset, 'get_data_info') else []
    if len(infos) != num_images or not all(isinstance(i, dict) and 'gt_label' in i for i in infos):
        return None
    return np.array([int(info['gt_label']) for info in infos], np.int64)


def batch_labels(data_samples) -> Tensor:
    """Class ids int64 [B] from preprocessed data samples' ``gt_label`` (mmagic's ``LabelData``, or ints)."""
    samples = data_samples if isinstance(data_samples, (list, tuple)) else [data_samples]
    if not all(hasattr(s, 'gt_label') for s in samples):
        raise KeyError('class labels not found as data_samples.gt_label: per-class metrics need each real '
                       'image\'s class; the dataset must give it as gt_label (PackInputs packs it)')
    labels = [getattr(s.gt_label, 'label', s.gt_label) for s in samples]
    return torch.cat([torch.as_tensor(label).reshape(-1) for label in labels]).long()


@torch.no_grad()
def extract_dataset_features(dataset: Dataset,
                             num_images: int,
                             batch_size: int,
                             data_preprocessor: nn.Module,
                             real_key: str,
                             extract: Callable[[Tensor], Tensor],
                             desc: str = 'real features',
                             with_labels: bool = False) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """Features float32 [num_images, D] of the first ``num_images`` items, in order, split across ranks;
    with ``with_labels`` also their classes int64 [num_images] (:func:`batch_labels`).

    The images take the path of mmagic's metrics: the dataset's pipeline, ``data_preprocessor(data, False)``
    (BGR, no normalisation), then ``extract`` (a metric's ``forward_inception``: BGR [B, 3, H, W] -> [B, D]).
    """
    if not 0 < num_images <= len(dataset):
        raise ValueError(f'asked for {num_images} real images but the dataset has {len(dataset)}')
    rank, world = get_dist_info()
    # Rank r takes items r, r + world, ...; the last round wraps around and is cut off after gathering.
    indices = [(i * world + rank) % num_images for i in range(math.ceil(num_images / world))]
    # Own generator: a DataLoader otherwise draws its base seed from the global RNG.
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=indices,
        collate_fn=pseudo_collate,
        num_workers=0,
        generator=torch.Generator())
    feats, labels = [], []
    with tqdm(total=num_images, desc=desc, unit='img', disable=not is_main_process()) as bar:
        for data in loader:
            samples = data_preprocessor(data, False)['data_samples']
            imgs = batch_images(samples, real_key)
            feats.append(extract(imgs).float().cpu())
            if with_labels:
                labels.append(batch_labels(samples))
                if len(labels[-1]) != len(imgs):
                    raise ValueError(f'{len(labels[-1])} class labels for {len(imgs)} real images: each '
                                     'gt_label must hold one class')
            bar.update(min(len(imgs) * world, bar.total - bar.n))
    feats = _interleave(torch.cat(feats), num_images).numpy()
    if not with_labels:
        return feats
    return feats, _interleave(torch.cat(labels), num_images).numpy()


def _interleave(rows: Tensor, num: int) -> Tensor:
    """The ranks' rows [n, ...] in dataset order (row i*world + r is rank r's i-th item), first ``num``."""
    return torch.stack(all_gather(rows), dim=1).reshape(-1, *rows.shape[1:])[:num]
