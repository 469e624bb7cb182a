"""Real images' features and class ids in dataset order, split across ranks (what stats_cache.py stores).

Images take the path of mmagic's metrics: the dataset's pipeline, the model's data preprocessor, a metric's
``forward_inception``; a loader with its own generator leaves the global RNG alone (mmagic's draws from it,
so samples would depend on whether the statistics were cached).
"""
import math
from typing import Callable, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import all_gather, get_dist_info, is_main_process
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm


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
