"""tools/sample.py on a runner checkpoint: the same images as the API, a manifest, interpolations, errors."""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from sagan_plugin.apis import image_grid, init_model, interpolate, sample_images
from tests.apis.checkpoints import TINY, save_checkpoint, train_tiny
from tests.conftest import run_python
from tools.sample import main


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('run')
    train_tiny(work_dir, iters=2)
    return str(work_dir / 'iter_2.pth')


def read(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert('RGB'))


def test_tool_writes_the_api_images(checkpoint, tmp_path):
    """In a fresh process the tool gives, pixel for pixel, the API's images for the same seed, as a grid
    and as files listed in the manifest."""
    grid, folder = tmp_path / 'grid.png', tmp_path / 'samples'
    args = [
        TINY, checkpoint, '--classes', '0', '3', 'Sneaker', '--per-class', '2', '--truncation', '1.5',
        '--seed', '5', '--batch-size', '4'
    ]
    # as many threads as this process: G's output moves by ~4e-7 with the thread count, which can flip a
    # pixel (it did once conditional BN's affine stopped using addcmul)
    threads = dict(OMP_NUM_THREADS=str(torch.get_num_threads()))
    proc = run_python('tools/sample.py', *args, '--out', grid, '--out-dir', folder, env=threads)
    assert 'generator: EMA weights' in proc.stdout
    samples = sample_images(init_model(TINY, checkpoint), [0, 3, 7], 2, truncation=1.5, seed=5, batch_size=4)
    assert (read(grid) == image_grid(samples.images, 3, samples.col_titles)).all()
    manifest = json.loads((folder / 'manifest.json').read_text())
    assert manifest['seed'] == 5 and manifest['truncation'] == 1.5 and manifest['ema'] is True
    assert [e['class_id'] for e in manifest['images']] == [0, 3, 7, 0, 3, 7]
    assert manifest['images'][2] == dict(
        file='000002_class007.png', index=2, class_id=7, class_name='Sneaker')
    for entry, image in zip(manifest['images'], samples.images):
        assert (read(folder / entry['file']) == image.permute(1, 2, 0).numpy()).all()
    assert sorted(os.listdir(folder)) == sorted([e['file'] for e in manifest['images']] + ['manifest.json'])
    # the same seed in this process again: the same grid
    main([
        TINY, checkpoint, '--classes', '0', '3', '7', '--per-class', '2', '--truncation', '1.5', '--seed',
        '5', '--out',
        str(tmp_path / 'again.png')
    ])
    assert (read(tmp_path / 'again.png') == read(grid)).all()


def test_interpolation_grid(checkpoint, tmp_path, capsys):
    out = tmp_path / 'interp.png'
    main([
        TINY, checkpoint, '--interpolate', 'class', '--classes', '1', '8', '--steps', '4', '--per-class', '1',
        '--out',
        str(out)
    ])
    rows = interpolate(init_model(TINY, checkpoint), 'class', [1, 8], steps=4)
    assert (read(out) == image_grid(rows.images, 4, row_titles=rows.row_titles)).all()
    assert read(out).shape[0] == 2 + 34 and 'wrote' in capsys.readouterr().out


def test_generator_only_checkpoint_without_ema(checkpoint, tmp_path, capsys):
    """A converted checkpoint: generator.* keys only, no meta; the tool says it uses the raw generator."""
    state = torch.load(checkpoint, weights_only=True)['state_dict']
    only_g = save_checkpoint(
        tmp_path / 'g.pth', {
            k: v
            for k, v in state.items() if k.startswith('generator.')
        }, meta=False)
    main([TINY, only_g, '--classes', '2', '--per-class', '1', '--out', str(tmp_path / 'g.png')])
    assert 'raw weights (generator); the checkpoint has no EMA weights' in capsys.readouterr().out


def test_errors_name_the_offending_value(checkpoint, tmp_path):
    with pytest.raises(ValueError, match='class 12 is outside'):
        main([TINY, checkpoint, '--classes', '12', '--out', str(tmp_path / 'x.png')])
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        main([TINY, str(tmp_path / 'missing.pth'), '--out', str(tmp_path / 'x.png')])
    with pytest.raises(SystemExit):  # argparse: nothing to write
        main([TINY, checkpoint])
    assert not (tmp_path / 'x.png').exists()
