import gzip
import shutil

import numpy as np
import pytest

from sagan_plugin.registry import DATASETS

SOURCE = '/usr/share/datasets/fashion-mnist'


def build(**kwargs):
    return DATASETS.build(dict(type='FashionMNIST', **kwargs))


@pytest.mark.parametrize('split, total', [('train', 60000), ('test', 10000)])
def test_real_files(split, total):
    dataset = build(split=split, num_samples=50)
    assert len(dataset) == 50
    item = dataset[0]
    assert item['gt'].shape == (28, 28, 3) and item['gt'].dtype == np.uint8
    assert np.array_equal(item['gt'][..., 0], item['gt'][..., 2])  # grey repeated
    labels = {dataset[i]['gt_label'] for i in range(50)}
    assert labels <= set(range(10)) and len(labels) > 5  # the files are not sorted by class
    assert dataset.metainfo['classes'][0] == 'T-shirt/top'


def test_pipeline_packs_a_labelled_32px_sample():
    dataset = build(
        num_samples=2, pipeline=[dict(type='Resize', keys='gt', scale=(32, 32)),
                                 dict(type='PackInputs')])
    sample = dataset[1]['data_samples']
    assert tuple(sample.gt_img.shape) == (3, 32, 32)
    assert int(sample.gt_label.label) == build(num_samples=2)[1]['gt_label']


@pytest.fixture
def copy_of_data(tmp_path):
    for name in ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'):
        shutil.copy(f'{SOURCE}/{name}', tmp_path / name)
    return tmp_path


def rewrite(path, transform):
    with gzip.open(path) as f:
        raw = f.read()
    with gzip.open(path, 'wb') as f:
        f.write(transform(raw))


@pytest.mark.parametrize('breakage, error, match', [
    (lambda p: rewrite(p, lambda raw: raw[:-100]), ValueError, 'truncated'),
    (lambda p: rewrite(p, lambda raw: b'\0\0\x08\x01' + raw[4:]), ValueError, 'magic'),
    (lambda p: p.write_bytes(b'not gzip at all'), ValueError, 'not a readable gzip'),
    (lambda p: p.unlink(), FileNotFoundError, 'dataset-fashion-mnist'),
])
def test_broken_files_are_clear_errors(copy_of_data, breakage, error, match):
    breakage(copy_of_data / 'train-images-idx3-ubyte.gz')
    with pytest.raises(error, match=match):
        build(data_root=str(copy_of_data))


def test_unknown_split():
    with pytest.raises(ValueError, match='split'):
        build(split='val')
