"""The real-statistics file: written once, reused, and refused with a clear error when it does not match."""
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from sagan_plugin.evaluation import OfflineFID, dataset_fingerprint, load_stats, offline_fid, save_stats
from sagan_plugin.registry import DATASETS, MODELS

NUM = 8  # real images per statistics file: enough to exercise the code, cheap on 2 cores


def fashion_dataset(split: str = 'test', backend: str = 'pillow'):
    """Fashion-MNIST through the demo's evaluation pipeline (28 -> 32, packed as gt_img)."""
    pipeline = [dict(type='Resize', keys='gt', scale=(32, 32), backend=backend), dict(type='PackInputs')]
    return DATASETS.build(dict(type='FashionMNIST', split=split, num_samples=16, pipeline=pipeline))


@pytest.fixture(scope='module')
def preprocessor():
    return MODELS.build(dict(type='DataPreprocessor'))


@pytest.fixture(scope='module')
def shared_metric():
    """One OfflineFID (one Inception load) reconfigured per test."""
    return OfflineFID(fake_nums=NUM, real_nums=NUM)


@pytest.fixture
def metric(shared_metric, tmp_path):
    shared_metric.inception_pkl, shared_metric.real_nums = str(tmp_path / 'stats.pkl'), NUM
    shared_metric.kid_cfg = shared_metric.pr_cfg = None
    return shared_metric


@pytest.fixture
def written(metric, preprocessor) -> dict:
    """A statistics file written by the metric from the first NUM test images."""
    return metric.real_stats(fashion_dataset(), preprocessor, batch_size=4)


def test_written_once_then_reused(metric, preprocessor, written, monkeypatch):
    assert written['num_images'] == NUM and written['real_cov'].shape == (2048, 2048)
    assert written['extractor']['resize'] == 'tf1x_bilinear_align_corners_false'
    assert written['dataset']['split'] == 'test' and 'real_feats' not in written

    def no_recompute(*args, **kwargs):
        raise AssertionError('statistics were recomputed although a matching file exists')

    monkeypatch.setattr(offline_fid, 'extract_dataset_features', no_recompute)
    reused = metric.real_stats(fashion_dataset(), preprocessor, batch_size=4)
    np.testing.assert_array_equal(reused['real_mean'], written['real_mean'])


def _tamper(key: str, value):
    """A case that rewrites one extractor field of the file, as if it was made with another network/resize."""

    def apply(metric, path):
        stats = load_stats(path)
        stats['extractor'][key] = value
        save_stats(path, stats)
        return fashion_dataset()

    return apply


def _fewer_images(metric, path):
    metric.real_nums = NUM - 2
    return fashion_dataset()


def _with_kid(metric, path):
    metric.kid_cfg = dict(offline_fid.KID_DEFAULTS)
    return fashion_dataset()


@pytest.mark.parametrize(
    'change, message', [
        (_tamper('weights_sha256', '0' * 64), 'feature network weights_sha256'),
        (_tamper('name', 'pytorch_inception_v3'), 'feature network name'),
        (_tamper('resize', 'torch_bilinear'), "feature network resize: file has 'torch_bilinear'"),
        (_fewer_images, f'number of images: file has {NUM}, metric uses {NUM - 2}'),
        (lambda metric, path: fashion_dataset(split='train'),
         "dataset split: file has 'test', metric uses 'train'"),
        (lambda metric, path: fashion_dataset(backend='cv2'), 'dataset pipeline'),
        (_with_kid, 'need the raw features'),
    ],
    ids=['weights', 'network', 'resize', 'count', 'split', 'pipeline', 'features'])
def test_stale_or_mismatched_file_is_refused(metric, preprocessor, written, change, message):
    dataset = change(metric, metric.inception_pkl)
    with pytest.raises(ValueError, match='stale or mismatched statistics file') as err:
        metric.real_stats(dataset, preprocessor, batch_size=4)
    assert message in str(err.value) and 'tools/calc_inception_stats.py' in str(err.value)


def test_fingerprint_is_the_same_before_and_after_reading_images(tmp_path):
    """Transforms keep runtime state (LoadImageFromFile's backend): it must not make a file stale."""
    (tmp_path / 'train' / 'n01').mkdir(parents=True)
    Image.fromarray(np.zeros((40, 30, 3), np.uint8)).save(tmp_path / 'train' / 'n01' / 'a.png')
    (tmp_path / 'meta').mkdir()
    (tmp_path / 'meta' / 'train.txt').write_text('n01/a.png 0\n')
    pipeline = [
        dict(type='LoadImageFromFile', key='gt'),
        dict(type='CenterCropLongEdge', keys='gt'),
        dict(type='Resize', keys='gt', scale=(16, 16), backend='pillow'),
        dict(type='PackInputs')
    ]
    dataset = DATASETS.build(
        dict(
            type='ImageNet',
            data_root=str(tmp_path),
            ann_file='meta/train.txt',
            data_prefix='train',
            pipeline=pipeline))
    before = dataset_fingerprint(dataset)
    assert dataset[0]['data_samples'].gt_img.shape == (3, 16, 16)
    assert dataset_fingerprint(dataset) == before


def test_foreign_pickle_is_not_taken_for_statistics(tmp_path):
    path = tmp_path / 'mmagic_style.pkl'
    path.write_bytes(pickle.dumps(dict(real_mean=np.zeros(3), real_cov=np.eye(3))))
    with pytest.raises(ValueError, match='not a sagan_plugin statistics file'):
        load_stats(str(path))


class _RunsCode:
    """An object whose unpickling would run a shell command."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_statistics_file_cannot_run_code(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps(dict(format='sagan_plugin.feature_stats/1', x=_RunsCode(str(marker)))))
    with pytest.raises(pickle.UnpicklingError, match='refusing to load'):
        load_stats(str(path))
    assert not marker.exists()
