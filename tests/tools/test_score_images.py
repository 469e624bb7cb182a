"""tools/score_images.py: a tools/sample.py folder scores as the metric scores the same images in memory, real
images as tools/experiments/real_floor.py scores them, per class by hand, and bad inputs are refused."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from PIL import Image
from torch.utils.data import DataLoader, Subset

from sagan_plugin.apis import init_model, sample_images
from sagan_plugin.evaluation.real_features import batch_images, extract_dataset_features
from sagan_plugin.registry import DATASETS, EVALUATORS, MODELS
from tests.apis.checkpoints import TINY, train_tiny
from tools.sample import main as sample_main
from tools.score_images import main as score_main

REAL, FLOOR, PER_CLASS, SEED = 32, 10, 2, 3  # 32 real test images (>= 2 a class), 10 for the floor; 2 a class
PIPELINE = [dict(type='Resize', keys='gt', scale=(32, 32), backend='pillow'), dict(type='PackInputs')]


@pytest.fixture(scope='module')
def setup(tmp_path_factory) -> SimpleNamespace:
    """A tiny checkpoint, its samples written by tools/sample.py, and a config whose test_evaluator is the
    demo's OfflineFID at 20 real images (KID subsets of 10)."""
    root = tmp_path_factory.mktemp('score')
    train_tiny(root / 'run', iters=2)
    checkpoint = str(root / 'run' / 'iter_2.pth')
    sample_main([
        TINY, checkpoint, '--per-class',
        str(PER_CLASS), '--seed',
        str(SEED), '--out-dir',
        str(root / 'samples')
    ])
    cfg = Config.fromfile(TINY)
    cfg.test_dataloader = dict(
        batch_size=10,
        num_workers=0,
        dataset=dict(type='FashionMNIST', split='test', num_samples=REAL, pipeline=PIPELINE),
        sampler=dict(type='DefaultSampler', shuffle=False))
    metric = dict(
        type='OfflineFID',
        prefix='FID',
        fake_nums=1000,
        real_nums=REAL,
        inception_pkl=str(root / 'stats.pkl'),
        kid=dict(subsets=10, subset_size=10))
    cfg.test_evaluator = dict(type='Evaluator', metrics=[metric])
    cfg.dump(str(root / 'score_cfg.py'))
    return SimpleNamespace(root=root, checkpoint=checkpoint, config=str(root / 'score_cfg.py'), metric=metric)


@pytest.fixture(scope='module')
def in_memory(setup) -> SimpleNamespace:
    """The metric on the same images as the folder, generated in memory by the API and fed as a model's
    output (BGR floats) through mmagic's Evaluator; its features too."""
    images = sample_images(init_model(TINY, setup.checkpoint), per_class=PER_CLASS, seed=SEED).images
    evaluator = EVALUATORS.build(dict(type='Evaluator', metrics=[dict(setup.metric, fake_nums=len(images))]))
    dataset = DATASETS.build(dict(type='FashionMNIST', split='test', num_samples=REAL, pipeline=PIPELINE))
    module = SimpleNamespace(data_preprocessor=MODELS.build(dict(type='DataPreprocessor')))
    evaluator.prepare_metrics(module, DataLoader(dataset, batch_size=10, collate_fn=pseudo_collate))
    for batch in images.split(8):
        evaluator.process([dict(fake_img=image[[2, 1, 0]].float()) for image in batch], None,
                          evaluator.metrics)
    metric = evaluator.metrics[0]
    fake = torch.cat(metric.fake_results).double().numpy()
    real_labels = np.array([dataset.get_data_info(i)['gt_label'] for i in range(REAL)])
    return SimpleNamespace(
        metric=metric,
        scores=evaluator.evaluate(),
        fake=fake,
        real=metric.real_feats.astype(np.float64),
        real_labels=real_labels)


@pytest.fixture(scope='module')
def scored(setup) -> dict:
    """The tool on the sample folder, per class (one Inception pass serves both tests)."""
    return score_main(
        [setup.config,
         str(setup.root / 'samples'), '--per-class', '--out',
         str(setup.root / 'out')])


def test_sample_folder_scores_as_the_same_images_in_memory(setup, scored, in_memory):
    written = json.loads((setup.root / 'out' / 'scores.json').read_text())
    assert written['num_images'] == 10 * PER_CLASS and written['resolution'] == 32
    assert written['num_real_images'] == REAL and written['metrics'] == scored['metrics']
    for key in ('FID/fid', 'FID/kid'):
        assert scored['metrics'][key] == pytest.approx(in_memory.scores[key], rel=1e-6), key


def fid_by_hand(fake: np.ndarray, real: np.ndarray) -> float:
    """FID of a few rows [n, D] vs [m, D]: Tr((Σ_g Σ_r)^{1/2}) from the eigenvalues of the n x n matrix
    A Rᵀ R Aᵀ / ((n-1)(m-1)) (A, R centred), which are the non-zero ones of Σ_g Σ_r (no D x D root)."""
    (n, _), m = fake.shape, len(real)
    centred_fake, centred_real = fake - fake.mean(0), real - real.mean(0)
    gram = centred_fake @ centred_real.T
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh(gram @ gram.T / ((n - 1) * (m - 1))), 0, None)).sum()
    traces = np.trace(np.cov(fake, rowvar=False)) + np.trace(np.cov(real, rowvar=False))
    return float(((fake.mean(0) - real.mean(0))**2).sum() + traces - 2 * trace_sqrt)


def test_per_class_table_matches_fid_by_hand(setup, scored, in_memory):
    """Each class's FID from the in-memory features of its images and of its real images."""
    rows = scored['per_class']
    assert [row['class'] for row in rows] == list(range(10)) and rows[7]['name'] == 'Sneaker'
    assert (setup.root / 'out' / 'per_class.csv').is_file()
    manifest = json.loads((setup.root / 'samples' / 'manifest.json').read_text())
    fake_labels = np.array([entry['class_id'] for entry in manifest['images']])
    for row in rows:
        fake = in_memory.fake[fake_labels == row['class']]
        real = in_memory.real[in_memory.real_labels == row['class']]
        assert (row['num_fake'], row['num_real']) == (PER_CLASS, len(real))
        assert row['fid'] == pytest.approx(fid_by_hand(fake, real), rel=1e-6), row
    assert scored['metrics']['FID/intra_fid'] == pytest.approx(np.mean([row['fid'] for row in rows]))


def test_real_images_score_as_real_floor_scores_them(setup, in_memory, tmp_path):
    """Real training images scored as tools/experiments/real_floor.py scores them (the dataset's pipeline,
    the data preprocessor, extract_dataset_features, the metric) and as PNGs through the tool agree."""
    cfg = Config.fromfile(setup.config)
    train_set = DATASETS.build(dict(cfg.train_dataloader.dataset, pipeline=PIPELINE))
    preprocessor = MODELS.build(dict(type='DataPreprocessor'))
    picked = np.random.default_rng(0).choice(len(train_set), FLOOR, replace=False).tolist()
    metric = in_memory.metric
    feats = extract_dataset_features(
        Subset(train_set, picked), FLOOR, 5, preprocessor, 'gt_img', metric.forward_inception)
    floor = metric.compute_metrics([torch.from_numpy(feats)])
    (tmp_path / 'real').mkdir()
    for i in picked:
        bgr = batch_images(preprocessor(pseudo_collate([train_set[i]]), False)['data_samples'], 'gt_img')
        rgb = bgr[0, [2, 1, 0]].round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
        Image.fromarray(rgb).save(tmp_path / 'real' / f'{i:05d}.png')
    result = score_main([setup.config, str(tmp_path / 'real')])
    assert result['num_images'] == FLOOR
    for key in ('fid', 'kid'):
        assert result['metrics'][f'FID/{key}'] == pytest.approx(floor[key], rel=1e-6), key


def test_refusals(setup, tmp_path):
    small = tmp_path / 'small'
    small.mkdir()
    for i in range(5):
        Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)).save(small / f'{i}.png')
    with pytest.raises(
            ValueError,
            match=r'KID subset_size 10 is larger than the number of samples '
            r'\(generated 5, real 32\)'):
        score_main([setup.config, str(small)])
    with pytest.raises(ValueError, match=r'--per-class: .*small gives no classes; use class sub-folders'):
        score_main([setup.config, str(small), '--per-class'])
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(small / '5.png')
    with pytest.raises(
            ValueError,
            match=r'1 of 6 images are not 32x32, the size of the real images .* e.g. '
            r'.*small/5.png \(16x16\)'):
        score_main([setup.config, str(small)])
    no_fid = Config.fromfile(setup.config)
    no_fid.test_evaluator = dict(type='Evaluator', metrics=[dict(type='ClassifierScore', fake_nums=10)])
    no_fid.dump(str(tmp_path / 'no_fid.py'))
    with pytest.raises(ValueError, match=r"test_evaluator has no OfflineFID metric.*\['ClassifierScore'\]"):
        score_main([str(tmp_path / 'no_fid.py'), str(small)])
