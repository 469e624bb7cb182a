"""tools/visualize_attention.py on a runner checkpoint: the figure's panels, the maps it draws, D on real
images, and errors."""

import numpy as np
import pytest
from PIL import Image

from sagan_plugin.apis import figure_size
from sagan_plugin.visualization.attention_figure import COLOURS, HEADER
from sagan_plugin.visualization.text import PAD
from tests.apis.checkpoints import TINY, train_tiny
from tests.conftest import run_python
from tools.visualize_attention import main


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('run')
    train_tiny(work_dir, iters=2)
    return str(work_dir / 'iter_2.pth')


def test_figure_has_the_panels_and_the_maps_sum_to_one(checkpoint, tmp_path):
    """Both layers, 2 images, 2 given queries: the PNG is 2 layer blocks of 2 rows × (image + 2 maps), the
    image panel carries the query markers, and every drawn map sums to 1."""
    out, maps = tmp_path / 'fig.png', tmp_path / 'maps.npz'
    args = [
        TINY, checkpoint, '--classes', 'Trouser', 'Bag', '--queries', '4,4', '20,12', '--panel-size', '64'
    ]
    outputs = ['--save-maps', maps, '--out', out]
    proc = run_python('tools/visualize_attention.py', *args, *outputs, env=dict(OMP_NUM_THREADS='1'))
    # the demo's pooled attention: a map over the 8x8 max-pooled keys of the 16x16 layer
    assert 'generator.16: pooled variant' in proc.stdout and '(EMA generator)' in proc.stdout
    figure = np.asarray(Image.open(out).convert('RGB'))
    assert (figure.shape[1], figure.shape[0]) == figure_size([2, 2], 2, 64)
    for block in range(2):  # generator.16, then discriminator.16
        top = PAD + block * (HEADER + 2 * (64 + PAD)) + HEADER
        marked = figure[top:top + 64, PAD:PAD + 64]
        assert tuple(marked[9, 9]) == COLOURS[0] and tuple(marked[25, 41]) == COLOURS[1]
    saved = np.load(maps)
    assert saved['queries'].tolist() == [[4, 4], [20, 12]]
    for layer in ('generator.16', 'discriminator.16'):
        assert saved[layer].shape == (2, 2, 8, 8)
        np.testing.assert_allclose(saved[layer].sum((-1, -2)), 1, rtol=1e-5)


def test_discriminator_on_dataset_images(checkpoint, tmp_path, capsys):
    out = tmp_path / 'd.png'
    main([
        TINY, checkpoint, '--layer', 'discriminator.16', '--images', 'dataset', '--classes', '3', '9',
        '--num-queries', '1', '--panel-size', '32', '--save-maps',
        str(tmp_path / 'd.npz'), '--out',
        str(out)
    ])
    assert Image.open(out).size == figure_size([2], 1, 32)
    assert 'discriminator.16' in capsys.readouterr().out
    assert np.load(tmp_path / 'd.npz')['discriminator.16'].shape == (2, 1, 8, 8)


def test_errors_name_the_offending_value(checkpoint, tmp_path):
    with pytest.raises(
            ValueError, match=r"no attention layer 'generator.64'; this model has \['generator.16'"):
        main([TINY, checkpoint, '--layer', 'generator.64', '--out', str(tmp_path / 'x.png')])
    with pytest.raises(ValueError, match="'33,1' lies outside"):
        main([TINY, checkpoint, '--queries', '33,1', '--out', str(tmp_path / 'x.png')])
    with pytest.raises(ValueError, match='a class per image'):
        main([TINY, checkpoint, '--images', __file__, '--out', str(tmp_path / 'x.png')])
    assert not (tmp_path / 'x.png').exists()
