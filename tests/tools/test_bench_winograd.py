"""The Winograd record (tools/benchmarks/bench_winograd.py) times the function ``F.conv2d`` computes: its
conv equals torch's to float rounding, also where a side is no multiple of the tile."""
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

from tests.conftest import REPO


@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('bench_winograd',
                                                  osp.join(REPO, 'tools', 'benchmarks', 'bench_winograd.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('m', [2, 4])
def test_winograd_conv_equals_conv2d(bench, m):
    generator = torch.Generator().manual_seed(m)
    x = torch.randn(2, 5, 7, 10, generator=generator).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(6, 5, 3, 3, generator=generator)
    out = bench.winograd_conv(x, weight, m, bench.kronecker_transforms(m))
    torch.testing.assert_close(out, F.conv2d(x, weight, padding=1), rtol=1e-4, atol=1e-4)
