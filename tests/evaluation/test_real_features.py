"""Real-image feature extraction: dataset order is kept, also when the work is split across processes."""
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sagan_plugin.evaluation.real_features import extract_dataset_features
from tests.conftest import free_port

NUM_ITEMS = 11  # not a multiple of the batch or of the world size: exercises the wrap-around and the cut


class IndexImages(torch.utils.data.Dataset):
    """Item i is a packed 'image' whose pixels all equal i, so a feature reveals which item it came from."""

    def __len__(self) -> int:
        return NUM_ITEMS

    def __getitem__(self, i: int) -> dict:
        return dict(inputs=None, data_samples=SimpleNamespace(gt_img=torch.full((3, 2, 2), float(i))))


def passthrough_preprocessor(data: dict, training: bool) -> dict:
    """Stands in for mmagic's DataPreprocessor in test mode (no normalisation)."""
    return data


def index_features(images: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] -> [B, 2] features holding the item index."""
    return images.flatten(1)[:, :2]


def extract(num: int) -> np.ndarray:
    return extract_dataset_features(IndexImages(), num, 3, passthrough_preprocessor, 'gt_img', index_features)


@pytest.mark.parametrize('num', [1, 7, NUM_ITEMS])
def test_single_process_keeps_dataset_order(num):
    np.testing.assert_array_equal(extract(num)[:, 0], np.arange(num))


def test_global_rng_is_left_alone():
    """Otherwise the generated samples would depend on whether the real statistics came from the cache."""
    state = torch.get_rng_state()
    extract(NUM_ITEMS)
    assert torch.equal(torch.get_rng_state(), state)


def test_too_many_images_is_an_error():
    with pytest.raises(ValueError, match='asked for 12 real images but the dataset has 11'):
        extract(NUM_ITEMS + 1)


def _worker(rank: int, world: int, port: int, queue) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        queue.put((rank, extract(NUM_ITEMS)[:, 0].tolist()))
    finally:
        dist.destroy_process_group()


def test_two_processes_gather_in_dataset_order():
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=_worker, args=(rank, 2, port, queue)) for rank in range(2)]
    for proc in procs:
        proc.start()
    results = dict(queue.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
    assert results[0] == results[1] == list(range(NUM_ITEMS))
