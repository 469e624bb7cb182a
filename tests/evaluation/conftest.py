"""Shared, session-cached pieces of the evaluation tests: real images, the feature networks, their features.

The Inception runs at ~10 images/s on 2 CPU cores, so every feature set is computed once per session and
reused.
"""
import os.path as osp

import numpy as np
import pytest
import torch

from sagan_plugin.datasets.fashion_mnist import _FILES, _IMAGE_MAGIC, read_idx
from sagan_plugin.evaluation import FIDInceptionV3, torch_fidelity_state_dict

FASHION_ROOT = '/usr/share/datasets/fashion-mnist'
N_IMAGES = 100  # per image set in the FID/KID checks: FID at N=100 is biased but stable enough to compare


def fashion_images(split: str, start: int, count: int) -> torch.Tensor:
    """uint8 [count, 3, 28, 28] Fashion-MNIST images (grey repeated to RGB, as the dataset class does)."""
    images = read_idx(osp.join(FASHION_ROOT, _FILES[split][0]), _IMAGE_MAGIC, ndim=3)[start:start + count]
    return torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1).repeat(1, 3, 1, 1)


def noise_images(count: int, seed: int = 0) -> torch.Tensor:
    """uint8 [count, 3, 28, 28] uniform noise: a "generator" that learned nothing."""
    return torch.randint(
        0, 256, (count, 3, 28, 28), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


@pytest.fixture(scope='session')
def image_sets() -> dict:
    """Three sets of N_IMAGES images: Fashion-MNIST train slice, test slice, noise."""
    return dict(
        train=fashion_images('train', 0, N_IMAGES),
        test=fashion_images('test', 0, N_IMAGES),
        noise=noise_images(N_IMAGES))


@pytest.fixture(scope='session')
def fid_inception() -> FIDInceptionV3:
    return FIDInceptionV3()


@torch.no_grad()
def extract(net, images: torch.Tensor, batch: int = 25) -> np.ndarray:
    """Features of uint8 images, in batches."""
    return torch.cat([net(chunk, return_features=True) for chunk in images.split(batch)]).numpy()


@pytest.fixture(scope='session')
def our_features(fid_inception, image_sets) -> dict:
    """Our pool3 features [N_IMAGES, 2048] of each image set."""
    return {name: extract(fid_inception, images) for name, images in image_sets.items()}


@pytest.fixture(scope='session')
def torch_fidelity_weights(tmp_path_factory) -> str:
    """default_1.pt's weights saved in torch-fidelity's format (what its Inception loads)."""
    path = str(tmp_path_factory.mktemp('weights') / 'fid_inception_for_torch_fidelity.pth')
    torch.save(torch_fidelity_state_dict(), path)
    return path
