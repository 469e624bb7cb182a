"""Per-class metrics: intra-FID, per-class KID and precision/recall against torch-fidelity's functions on
the same class subsets, the small-class rule, labels in the statistics file, and tools/test.py's table."""
import csv
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from sagan_plugin.datasets.fashion_mnist import CLASSES
from sagan_plugin.evaluation import (PerClassFID, check_stats, class_rows, dataset_fingerprint, load_stats,
                                     make_stats, save_stats, summarize, write_rows)
from sagan_plugin.evaluation.real_features import extract_dataset_features
from sagan_plugin.evaluation.uncertainty import bootstrap
from sagan_plugin.registry import MODELS
from tests.apis.checkpoints import TINY, save_checkpoint
from tests.conftest import run_tool, tiny_eval_config
from .test_stats_cache import fashion_dataset

COUNTS_REAL = (25, 40, 33)  # real images of classes 0, 1, 2: unequal, as in a real dataset


def features(seed: int, dim: int, fake_per_class: int, real_counts=COUNTS_REAL):
    """Random (fake [N, dim], fake labels, real [M, dim], real labels), each class shifted differently and the
    labels shuffled, so a class mixed up with another gives another number."""
    rng = np.random.default_rng(seed)
    fake_labels = rng.permutation(np.arange(fake_per_class * len(real_counts)) % len(real_counts))
    real_labels = rng.permutation(np.repeat(np.arange(len(real_counts)), real_counts))
    fake = rng.standard_normal((len(fake_labels), dim)) + fake_labels[:, None] * 0.5
    real = rng.standard_normal((len(real_labels), dim)) * 1.2 + real_labels[:, None] * 0.6
    return fake, fake_labels, real, real_labels


def torch_fidelity_fid(fake: np.ndarray, real: np.ndarray) -> float:
    stats = [fid_features_to_statistics(torch.from_numpy(f)) for f in (fake, real)]
    return fid_statistics_to_metric(stats[0], stats[1], verbose=False)[KEY_METRIC_FID]


@pytest.mark.parametrize('dim, fake_per_class', [(16, 30), (64, 12)])  # full-rank covariances, and N < D
def test_intra_fid_is_the_mean_of_torch_fidelity_per_class_fids(dim, fake_per_class):
    fake, fake_labels, real, real_labels = features(0, dim, fake_per_class)
    rows = class_rows(fake, fake_labels, real, real_labels, 3, ['a', 'b', 'c'], warn_below=0)
    expected = [torch_fidelity_fid(fake[fake_labels == c], real[real_labels == c]) for c in range(3)]
    assert [r['fid'] for r in rows] == pytest.approx(expected, rel=1e-6)
    assert [(r['class'], r['name'], r['num_fake'], r['num_real']) for r in rows
            ] == [(c, name, fake_per_class, n) for c, name, n in zip(range(3), 'abc', COUNTS_REAL)]
    assert summarize(rows) == dict(intra_fid=pytest.approx(np.mean(expected), rel=1e-6))


def test_per_class_kid_and_precision_recall_are_torch_fidelitys_on_each_class():
    fake, fake_labels, real, real_labels = features(1, 16, 30)
    kid = dict(subsets=10, subset_size=1000, degree=3, gamma=None, coef0=1.0, seed=2020)
    rows = class_rows(
        fake,
        fake_labels,
        real,
        real_labels,
        3,
        kid=kid,
        precision_recall=dict(k=3, batch_size=100),
        warn_below=0)
    for c, row in enumerate(rows):
        fake_c, real_c = (torch.from_numpy(a) for a in (fake[fake_labels == c], real[real_labels == c]))
        size = min(1000, len(fake_c), len(real_c))  # the configured size does not fit a class: the smaller
        expected = kid_features_to_metric(
            fake_c, real_c, kid_subsets=10, kid_subset_size=size, rng_seed=2020, verbose=False)
        assert row['kid_subset_size'] == size == min(30, COUNTS_REAL[c])
        assert (row['kid'], row['kid_std']) == pytest.approx(
            (expected[KEY_METRIC_KID_MEAN], expected[KEY_METRIC_KID_STD]), rel=1e-9)
        prc = prc_features_to_metric(fake_c.float(), real_c.float(), verbose=False, prc_neighborhood=3)
        assert (row['precision'], row['recall']) == pytest.approx((prc['precision'], prc['recall']))
    summary = summarize(rows)
    assert summary['intra_kid'] == pytest.approx(np.mean([r['kid'] for r in rows]))
    assert set(summary) == {'intra_fid', 'intra_kid', 'intra_precision', 'intra_recall'}


def test_per_class_bootstrap_resamples_each_class_as_the_global_one_does():
    """Same resampled rows (same seed), the FID of each replicate by torch-fidelity: the same interval."""
    fake, fake_labels, real, real_labels = features(6, 16, 30)
    options = dict(rounds=20, level=0.9, seed=3)
    rows = class_rows(fake, fake_labels, real, real_labels, 3, bootstrap=options, warn_below=0)
    for c, row in enumerate(rows):
        real_c = real[real_labels == c]
        expected = bootstrap(fake[fake_labels == c], lambda f: torch_fidelity_fid(f, real_c), **options)
        assert (row['fid_low'], row['fid_high']) == pytest.approx((expected['low'], expected['high']),
                                                                  rel=1e-6)
        assert row['fid_low'] < row['fid'] < row['fid_high']


@pytest.mark.parametrize('real_counts, options, message', [
    ((25, 1, 33), {}, r'class 1 \(b\) has 30 generated and 1 real images; per-class metrics need at least 2'),
    ((25, 0, 33), {}, r'class 1 \(b\) has no real images'),
    ((25, 3, 33), dict(precision_recall=dict(k=3, batch_size=100)), r'class 1 \(b\) .* need at least 4'),
])
def test_a_class_with_too_few_images_is_an_error_naming_it(real_counts, options, message):
    fake, fake_labels, real, real_labels = features(2, 8, 30, real_counts)
    with pytest.raises(ValueError, match=message):
        class_rows(fake, fake_labels, real, real_labels, 3, ['a', 'b', 'c'], **options)


def test_a_small_class_is_a_warning_naming_it_and_its_counts(mm_log):
    fake, fake_labels, real, real_labels = features(3, 8, 30)
    class_rows(fake, fake_labels, real, real_labels, 3, ['a', 'b', 'c'], warn_below=35)
    warning = [m for m in mm_log if 'fewer than 35 images' in m]
    assert len(
        warning) == 1 and '0 (a): 30 generated, 25 real; 1 (b): 30 generated, 40 real; 2 (c)' in warning[0]


@pytest.mark.parametrize('side', ['real', 'generated'])
def test_labels_outside_the_models_classes_are_named(side):
    fake, fake_labels, real, real_labels = features(4, 8, 30)
    (real_labels if side == 'real' else fake_labels)[:2] = [7, -1]
    with pytest.raises(
            ValueError, match=rf'{side} class label\(s\) -1 \(1 images\), 7 \(1 images\) outside 0..2'):
        class_rows(fake, fake_labels, real, real_labels, 3)


def test_rows_written_as_csv_and_json(tmp_path):
    fake, fake_labels, real, real_labels = features(5, 8, 30)
    rows = class_rows(fake, fake_labels, real, real_labels, 3, ['T-shirt/top', 'b, c', 'd'], warn_below=0)
    csv_path, json_path = write_rows(rows, str(tmp_path / 'table'))
    with open(csv_path, newline='') as f:
        from_csv = list(csv.DictReader(f))
    assert [r['name'] for r in from_csv] == ['T-shirt/top', 'b, c', 'd']  # quoted, not split
    assert [float(r['fid']) for r in from_csv] == pytest.approx([r['fid'] for r in rows])
    assert json.loads(open(json_path).read()) == rows


def test_statistics_file_keeps_labels_under_its_checksum(tmp_path):
    path = str(tmp_path / 'stats.pkl')
    feats, labels = np.random.default_rng(0).random((6, 4)), np.array([0, 1, 2, 0, 1, 2])
    save_stats(path, make_stats(feats, dict(name='net'), dict(type='X'), save_features=True, labels=labels))
    stats = load_stats(path)
    assert stats['real_labels'].dtype == np.int64 and stats['real_labels'].tolist() == labels.tolist()
    check_stats(stats, path, dict(name='net'), dict(type='X'), 6, need_features=True, need_labels=True)
    data = open(path, 'rb').read()
    changed = np.array([2, 1, 2, 0, 1, 2], np.int64).tobytes()  # a changed label changes a per-class FID
    assert data.count(labels.astype(np.int64).tobytes()) == 1
    open(path, 'wb').write(data.replace(labels.astype(np.int64).tobytes(), changed))
    with pytest.raises(ValueError, match='do not match the checksum'):
        load_stats(path)


def test_old_statistics_without_labels_serve_global_metrics_only():
    stats = make_stats(np.zeros((4, 2)), dict(name='net'), dict(type='X'), save_features=True)
    check_stats(stats, 'old.pkl', dict(name='net'), dict(type='X'), 4, need_features=True)  # FID, KID: fine
    with pytest.raises(
            ValueError,
            match=r'(?s)per-class metrics need the class of each real image.*'
            r'tools/calc_inception_stats.py CONFIG --force'):
        check_stats(stats, 'old.pkl', dict(name='net'), dict(type='X'), 4, True, need_labels=True)


def mean_colour(images: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] -> [B, 3]: a feature network's stand-in where only the labels are under test."""
    return images.float().mean((2, 3))


def test_real_labels_come_from_each_samples_gt_label():
    preprocessor = MODELS.build(dict(type='DataPreprocessor'))
    feats, labels = extract_dataset_features(
        fashion_dataset(), 10, 4, preprocessor, 'gt_img', mean_colour, with_labels=True)
    assert feats.shape == (10, 3) and labels.dtype == np.int64
    assert labels.tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]  # Fashion-MNIST's first test labels

    def without_labels(data, training):
        out = preprocessor(data, training)
        del out['data_samples'].gt_label  # one stacked DataSample per batch
        return out

    with pytest.raises(KeyError, match='data_samples.gt_label'):
        extract_dataset_features(
            fashion_dataset(), 4, 4, without_labels, 'gt_img', mean_colour, with_labels=True)


@pytest.fixture(scope='module')
def per_class_metric():
    return PerClassFID(fake_nums=20, real_nums=8, warn_below=0)


def test_a_statistics_file_without_labels_takes_them_from_the_annotations_or_is_refused(
        per_class_metric, tmp_path, monkeypatch):
    metric, dataset, path = per_class_metric, fashion_dataset(), str(tmp_path / 'old.pkl')
    feats = np.random.default_rng(0).random((8, 2048))
    save_stats(path, make_stats(feats, metric.inception.identity(), dataset_fingerprint(dataset), True))
    metric.inception_pkl = path
    preprocessor = MODELS.build(dict(type='DataPreprocessor'))
    stats = metric.real_stats(dataset, preprocessor, batch_size=4)
    # the ids a pass of the pipeline gives (gt_label of each packed sample), without the network
    packed = [dataset[i]['data_samples'].gt_label.label for i in range(8)]
    assert stats['real_labels'].tolist() == [int(label) for label in packed]
    monkeypatch.setattr(dataset, 'get_data_info', lambda i: dict(gt='no label here'))
    with pytest.raises(ValueError, match=r'(?s)real_labels.*calc_inception_stats.py CONFIG --force'):
        metric.real_stats(dataset, preprocessor, batch_size=4)


@pytest.mark.parametrize('fake_nums, labels, message', [
    (25, [0, 1, 2, 3, 4, 5, 6, 7
          ], r'fake_nums=25 is not a multiple of the model\'s 10 classes.*fake_nums=20'),
    (20, [1, 1, 2, 3, 4, 5, 6, 7], r'class 0 \(T-shirt/top\) has no real images'),
    (20, [0, 1, 2, 3, 4, 5, 6, 12], r'real class label\(s\) 12 \(1 images\) outside 0..9'),
])
def test_metric_checks_classes_before_sampling(per_class_metric, tmp_path, fake_nums, labels, message):
    """Labels in the real statistics that miss a class or exceed the model's: errors before any sampling."""
    metric, dataset, path = per_class_metric, fashion_dataset(), str(tmp_path / 'stats.pkl')
    stats = make_stats(
        np.random.default_rng(0).random((8, 2048)),
        metric.inception.identity(),
        dataset_fingerprint(dataset),
        True,
        labels=np.array(labels))
    save_stats(path, stats)
    metric.inception_pkl, metric.fake_nums = path, fake_nums
    module = SimpleNamespace(num_classes=10, data_preprocessor=MODELS.build(dict(type='DataPreprocessor')))
    loader = SimpleNamespace(dataset=dataset, batch_size=4)
    with pytest.raises(ValueError, match=message):
        metric.prepare(module, loader)


METRIC = ("dict(type='PerClassFID', prefix='FID', fake_nums=20, real_nums=40, sample_model='ema', "
          "kid=dict(subsets=5, subset_size=10), inception_pkl={pkl!r})")


def test_test_script_writes_the_per_class_table_beside_the_metrics(monkeypatch, tmp_path, capsys):
    """tools/test.py on an untrained tiny model: 2 generated images per class, the first 40 test images."""
    config = tmp_path / 'per_class.py'
    config.write_text(tiny_eval_config(TINY, METRIC.format(pkl=str(tmp_path / 'real40.pkl'))))
    checkpoint = save_checkpoint(tmp_path / 'untrained.pth',
                                 MODELS.build(Config.fromfile(TINY).model).state_dict())
    out = tmp_path / 'metrics.json'
    run_tool(monkeypatch, 'test.py', config, checkpoint, '--out', out, '--work-dir', tmp_path / 'work')
    metrics = json.loads(out.read_text())
    rows = json.loads((tmp_path / 'metrics_per_class_FID.json').read_text())
    with open(tmp_path / 'metrics_per_class_FID.csv', newline='') as f:
        assert list(csv.DictReader(f)) == [{k: str(v) for k, v in row.items()} for row in rows]
    assert [r['name'] for r in rows] == list(CLASSES) and {r['num_fake'] for r in rows} == {2}
    assert sum(r['num_real'] for r in rows) == 40 and {r['kid_subset_size'] for r in rows} == {2}
    assert metrics['FID/intra_fid'] == pytest.approx(np.mean([r['fid'] for r in rows]))
    assert metrics['FID/intra_kid'] == pytest.approx(np.mean([r['kid'] for r in rows]))
    assert metrics['FID/fid'] > 0 and 'metrics_per_class_FID.csv' in capsys.readouterr().out
    assert load_stats(str(tmp_path / 'real40.pkl'))['real_labels'].shape == (40, )
