"""Class-balanced sampling for an unbalanced folder (21 to 2,158 images a class in the clip-art example)."""
import itertools
from typing import Iterator, Optional

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.logging import print_log
from torch.utils.data import Sampler

from sagan_plugin.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class ClassBalancedInfiniteSampler(Sampler):
    """An endless sampler like MMEngine's ``InfiniteSampler`` (one seeded stream, process r taking items
    r, r + world, ...) that draws a class uniformly and then one of its images uniformly, with replacement:
    every class is seen equally often, so each image of a class of 20 repeats ~100x more often than one of a
    class of 2,000. The generator draws its classes uniformly too (``SAGAN.label_fn``), so real and fake
    class frequencies match.

    Use with a dataset that has ``get_cat_ids`` (``ImageFolder``, mmagic's ``BasicConditionalDataset``):
    ``train_dataloader.sampler = dict(type='ClassBalancedInfiniteSampler')``.

    Args:
        dataset: the dataset.
        seed: random seed; None draws one shared by all processes (as MMEngine's samplers do).
    """

    def __init__(self, dataset, seed: Optional[int] = None) -> None:
        if not hasattr(dataset, 'get_cat_ids'):
            raise TypeError(f'ClassBalancedInfiniteSampler needs a dataset with classes (get_cat_ids), got '
                            f'{type(dataset).__name__}')
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        self.size = len(dataset)
        labels = np.array([dataset.get_cat_ids(i)[0] for i in range(self.size)])
        self.by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
        sizes = [len(members) for members in self.by_class]
        print_log(
            f'ClassBalancedInfiniteSampler: {len(self.by_class)} classes drawn equally often, from '
            f'{min(sizes)} to {max(sizes)} images a class', 'current')

    def _stream(self) -> Iterator[int]:
        """Dataset indices: a class, then one of its images, forever (the stream all processes share)."""
        generator = torch.Generator().manual_seed(self.seed)
        while True:
            classes = torch.randint(len(self.by_class), (4096, ), generator=generator).tolist()
            picks = torch.rand(4096, generator=generator).tolist()
            for c, u in zip(classes, picks):
                members = self.by_class[c]
                yield int(members[int(u * len(members))])

    def __iter__(self) -> Iterator[int]:
        yield from itertools.islice(self._stream(), self.rank, None, self.world_size)

    def __len__(self) -> int:
        return self.size

    def set_epoch(self, epoch: int) -> None:
        """Nothing: the stream is endless (MMEngine's loops call it)."""
