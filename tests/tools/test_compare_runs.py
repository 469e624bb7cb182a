"""tools/compare_runs.py on two tiny checkpoints and an image set: the same features through every path,
intervals that hold the difference, per-class rows, and the refusals."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sagan_plugin.apis.run_features import check_same_real, provenance
from sagan_plugin.evaluation import frechet_distance, load_stats
from sagan_plugin.registry import DATASETS
from tests.apis.checkpoints import TINY, train_tiny
from tests.conftest import run_tool
from tests.evaluation.conftest import extract, fid_inception  # noqa: F401  (a fixture)

PIPELINE = [dict(type='Resize', keys='gt', scale=(32, 32), backend='pillow'), dict(type='PackInputs')]


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    """Checkpoints after 2 and 4 iterations of the tiny demo, and a config that scores 20 generated images
    (2 a class) against the first 60 Fashion-MNIST test images."""
    root = tmp_path_factory.mktemp('compare')
    train_tiny(root, iters=4)
    config = root / 'tiny_eval.py'
    dataset = dict(type='FashionMNIST', split='test', num_samples=60, pipeline=PIPELINE)
    metric = dict(
        type='OfflineFID',
        prefix='FID',
        fake_nums=20,
        real_nums=60,
        balanced_classes=True,
        inception_pkl=str(root / 'real60.pkl'),
        kid=dict(subsets=3, subset_size=20),
        sample_model='ema')
    config.write_text(
        f'_base_ = [{TINY!r}]\n'
        f'test_dataloader = dict(_delete_=True, batch_size=20, num_workers=0, dataset={dataset!r}, '
        'sampler=dict(type="DefaultSampler", shuffle=False), persistent_workers=False)\n'
        f'test_evaluator = dict(_delete_=True, type="Evaluator", metrics=[{metric!r}])\n'
        'test_cfg = dict(_delete_=True, type="MultiTestLoop")\n')
    return SimpleNamespace(
        root=root, config=str(config), a=str(root / 'iter_2.pth'), b=str(root / 'iter_4.pth'))


def rows(folder, name: str = 'compare') -> dict:
    return {r.get('metric', r.get('name')): r for r in json.loads((folder / f'{name}.json').read_text())}


def test_two_checkpoints_paired_with_per_class_rows(setup, monkeypatch, capsys):
    out = setup.root / 'ab'
    run_tool(monkeypatch, 'compare_runs.py', setup.config, setup.a, setup.b, '--out', out, '--rounds', 30,
             '--work-dir', setup.root / 'work')
    assert 'paired bootstrap' in capsys.readouterr().out
    table = rows(out)
    assert set(table) == {'fid', 'kid'}
    for row in table.values():
        assert row['difference'] == pytest.approx(row['a'] - row['b'])
        assert row['low'] <= row['difference'] <= row['high']
    classes = rows(out, 'compare_per_class')
    assert len(classes) == 10 and all(r['num_a'] == r['num_b'] == 2 for r in classes.values())
    for row in classes.values():
        assert row['low'] <= row['difference'] <= row['high'] and row['num_real'] >= 2


def test_checkpoint_against_real_images_unpaired(setup, monkeypatch, capsys, fid_inception):  # noqa: F811
    """B: 20 real training images (2 a class) in an .npz. Its FID is the one computed by hand from the
    Inception's features and the statistics file; A's equals what the checkpoint run gave in the paired
    comparison."""
    train = DATASETS.build(dict(type='FashionMNIST', split='train', num_samples=200, pipeline=PIPELINE))
    label_of = lambda sample: int(getattr(sample.gt_label, 'label', sample.gt_label))  # noqa: E731
    samples = [train[i]['data_samples'] for i in range(200)]
    picked = [s for c in range(10) for s in [s for s in samples if label_of(s) == c][:2]]
    images = torch.stack([s.gt_img for s in picked])  # uint8, grey repeated: RGB and BGR alike
    labels = np.array([label_of(s) for s in picked])
    npz = setup.root / 'real.npz'
    np.savez(npz, images=images.numpy(), labels=labels)
    out = setup.root / 'a_npz'
    run_tool(monkeypatch, 'compare_runs.py', setup.config, setup.b, npz, '--out', out, '--rounds', 20,
             '--work-dir', setup.root / 'work2')
    assert 'unpaired bootstrap' in capsys.readouterr().out
    table = rows(out)
    stats = load_stats(str(setup.root / 'real60.pkl'))
    feats = extract(fid_inception, images).astype(np.float64)
    by_hand = frechet_distance(
        feats.mean(0), np.cov(feats, rowvar=False), stats['real_mean'], stats['real_cov'])
    assert table['fid']['b'] == pytest.approx(by_hand[0], rel=1e-4)
    paired_run = setup.root / 'ab' / 'compare.json'
    if paired_run.exists():  # the same checkpoint on the same latents: the same figure
        assert table['fid']['a'] == pytest.approx(rows(setup.root / 'ab')['fid']['b'], rel=1e-9)
    assert table['fid']['low'] <= table['fid']['difference'] <= table['fid']['high']


def test_refusals_say_why(setup, monkeypatch, tmp_path):
    saved = tmp_path / 'metrics.json'
    saved.write_text('{"FID/fid": 1.0}')
    with pytest.raises(ValueError, match='not saved results'):
        run_tool(monkeypatch, 'compare_runs.py', setup.config, setup.a, saved)
    network = SimpleNamespace(identity=lambda: dict(name='net'))
    side = lambda mean: SimpleNamespace(  # noqa: E731
        real_mean=np.full(3, mean), real_cov=np.eye(3), real_feats=None, inception=network)
    check_same_real(provenance(side(0.0)), provenance(side(0.0)), ['a', 'b'])
    with pytest.raises(ValueError, match='(?s)different real statistics.*real_statistics'):
        check_same_real(provenance(side(0.0)), provenance(side(1.0)), ['a', 'b'])
