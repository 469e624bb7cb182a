"""Feature extraction over a dataset's real images, shared by the metrics and tools/calc_inception_stats.py.

The images go through the same path mmagic's metrics use for real images: the dataset's pipeline, then the
model's ``data_preprocessor(data, training=False)`` (which only converts to BGR, no normalisation), then the
metric's ``forward_inception`` (BGR -> RGB, quantise to uint8, feature network). Using one function for both
the tool and the metric keeps a precomputed statistics file identical to what the metric would compute itself.
"""
import math
from typing import Callable

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import all_gather, get_dist_info, is_main_process
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm


def batch_images(data_samples, real_key: str) -> Tensor:
    """Real images [B, 3, H, W] (float, BGR, 0..255) from preprocessed data samples; clear error if absent."""
    samples = data_samples if isinstance(data_samples, (list, tuple)) else [data_samples]
    if not all(hasattr(s, real_key) for s in samples):
        raise KeyError(
            f'real images not found as data_samples.{real_key}: the evaluation dataset\'s pipeline must '
            f'pack the image under the key that maps to {real_key!r} (for gt_img: load it as key=\'gt\' '
            'and end with PackInputs), or set real_key in the metric')
    imgs = [getattr(s, real_key) for s in samples]
    return imgs[0] if len(imgs) == 1 and imgs[0].dim() == 4 else torch.stack(imgs)


@torch.no_grad()
def extract_dataset_features(dataset: Dataset,
                             num_images: int,
                             batch_size: int,
                             data_preprocessor: nn.Module,
                             real_key: str,
                             extract: Callable[[Tensor], Tensor],
                             desc: str = 'real features',
                             num_workers: int = 0) -> np.ndarray:
    """Features of the first ``num_images`` items of ``dataset``, in order, split across distributed ranks.

    Args:
        dataset: an MMEngine dataset whose items pack a real image (see :func:`batch_images`).
        num_images: how many images, from the start of the dataset.
        batch_size: images per forward pass.
        data_preprocessor: the model's data preprocessor (mmagic ``DataPreprocessor``).
        real_key: data sample field holding the image (mmagic's default ``'gt_img'``).
        extract: BGR float images [B, 3, H, W] -> features [B, D] (a metric's ``forward_inception``).
        desc: progress bar label.
        num_workers: DataLoader workers.

    Returns:
        float32 [num_images, D] on every rank.
    """
    if not 0 < num_images <= len(dataset):
        raise ValueError(f'asked for {num_images} real images but the dataset has {len(dataset)}')
    rank, world = get_dist_info()
    # Rank r takes items r, r + world, ...; the last round wraps around and is cut off after gathering.
    per_rank = math.ceil(num_images / world)
    indices = [(i * world + rank) % num_images for i in range(per_rank)]
    # Own generator: a DataLoader draws its base seed from the global RNG, which would shift the generated
    # samples depending on whether the real statistics were computed or read from the cache.
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=indices,
        collate_fn=pseudo_collate,
        num_workers=num_workers,
        shuffle=False,
        drop_last=False,
        generator=torch.Generator())
    feats = []
    with tqdm(total=num_images, desc=desc, unit='img', disable=not is_main_process()) as bar:
        for data in loader:
            imgs = batch_images(data_preprocessor(data, False)['data_samples'], real_key)
            feats.append(extract(imgs).float().cpu())
            bar.update(min(len(imgs) * world, bar.total - bar.n))
    feats = torch.cat(feats)
    # Interleave the ranks back into dataset order: row i*world + r came from rank r's i-th item.
    gathered = torch.stack(all_gather(feats), dim=1).reshape(-1, feats.shape[1])
    return gathered[:num_images].numpy()
