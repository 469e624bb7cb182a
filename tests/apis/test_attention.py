"""Attention maps (rows of β at the query positions) and the figure that draws them."""
import numpy as np
import pytest
import torch
from PIL import Image

from sagan_plugin.apis import (AttentionMaps, attention_figure, attention_layers, dataset_images,
                               discriminator_attention, figure_size, file_images, generator_attention,
                               init_model, parse_layers, parse_queries, query_maps, to_rgb_uint8)
from sagan_plugin.visualization.attention_figure import COLOURS, HEADER
from sagan_plugin.visualization.text import PAD
from tests.apis.checkpoints import tiny_config


def test_query_maps_pick_the_query_row_in_x_y_order():
    """β = identity: query (x, y) attends only to its own cell, so its map is one-hot at (row y, col x)."""
    r, size = 8, 32
    beta = torch.eye(r * r).expand(2, -1, -1)
    maps = query_maps(beta, [(4, 20), (31, 0)], size)
    assert maps.shape == (2, 2, r, r)
    assert maps[0, 0, 20 * r // size, 4 * r // size] == 1 and maps[0, 1, 0, 7] == 1
    assert maps.sum() == 4


@pytest.mark.parametrize('variant,keys', [('paper', 16), ('pooled', 8)])
def test_maps_of_every_layer_sum_to_one(variant, keys):
    model = init_model(
        tiny_config(generator=dict(attention_variant=variant), discriminator=dict(attention_variant=variant)))
    layers = parse_layers(model, None)
    assert layers == attention_layers(model) == ['generator.16', 'discriminator.16']
    queries = parse_queries('auto', 3, 32)
    assert queries == [(16, 16), (9, 9), (22, 22)]
    fake, maps = generator_attention(model, layers, torch.randn(2, 16), torch.tensor([0, 5]), queries)
    maps += discriminator_attention(model, layers, fake, torch.tensor([0, 5]), queries)
    assert [m.layer for m in maps] == layers and all(m.variant == variant for m in maps)
    for m in maps:
        assert m.maps.shape == (2, 3, keys, keys) and (m.maps >= 0).all()
        torch.testing.assert_close(m.maps.sum((-1, -2)), torch.ones(2, 3))
    assert torch.equal(maps[0].images, to_rgb_uint8(model, fake)) and maps[0].ema
    assert model.generator.training is False  # init_model's eval mode is kept


def test_query_errors():
    assert parse_queries(['3,30', '0,0'], 4, 32) == [(3, 30), (0, 0)]
    with pytest.raises(ValueError, match="'40,2' lies outside the 32×32 image"):
        parse_queries(['40,2'], 4, 32)
    with pytest.raises(ValueError, match="'3;4' is not"):
        parse_queries(['3;4'], 4, 32)


def test_figure_layout_marks_and_heat_where_the_map_points():
    """Two images, two queries with one-hot maps: the panels sit where figure_size says, each query panel is
    hottest (JET red) at its map's cell, and the first panel carries the query markers."""
    maps = torch.zeros(2, 2, 8, 8)
    maps[:, 0, 1, 6] = 1  # query 0 attends to row 1, column 6 (top right)
    maps[:, 1, 6, 1] = 1  # query 1 to row 6, column 1 (bottom left)
    images = torch.full((2, 3, 32, 32), 128, dtype=torch.uint8)
    layer = AttentionMaps('generator.16', 'pooled', 0.25, images, [(4, 4), (28, 28)], maps)
    panel = 64
    figure = attention_figure([layer, layer], panel_size=panel)
    assert (figure.shape[1], figure.shape[0]) == figure_size([2, 2], 2, panel)
    for q, (row, col) in enumerate([(1, 6), (6, 1)]):
        left, top = PAD + (q + 1) * (panel + PAD), PAD + HEADER
        heat = figure[top:top + panel, left:left + panel].astype(int)
        redness = heat[..., 0] - heat[..., 2]
        y, x = np.unravel_index(redness.argmax(), redness.shape)
        assert (y // 8, x // 8) == (row, col)
    marked = figure[PAD + HEADER:PAD + HEADER + panel, PAD:PAD + panel]
    assert tuple(marked[9, 9]) == COLOURS[0] and tuple(marked[57, 57]) == COLOURS[1]


def test_discriminator_reads_dataset_and_files_alike(model_and_checkpoint, tmp_path):
    """Real images from the config's training set and the same images from PNG files reach D identically."""
    model, _ = model_and_checkpoint
    real, labels = dataset_images(model, torch.tensor([3, 9]))
    assert real.shape == (2, 3, 32, 32) and labels.tolist() == [3, 9]
    assert real.min() >= -1 and real.max() <= 1 and real.std() > 0.1
    paths = []
    for i, image in enumerate(to_rgb_uint8(model, real)):
        paths.append(str(tmp_path / f'{i}.png'))
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(paths[-1])
    from_files, file_labels = file_images(model, paths, torch.tensor([3, 9]))
    torch.testing.assert_close(from_files, real)
    maps = discriminator_attention(model, ['discriminator.16'], from_files, file_labels, [(16, 16)])
    torch.testing.assert_close(maps[0].maps.sum((-1, -2)), torch.ones(2, 1))
    with pytest.raises(FileNotFoundError, match='nope.png'):
        file_images(model, [str(tmp_path / 'nope.png')], torch.tensor([1]))
    with pytest.raises(ValueError, match='a class per image'):
        file_images(model, paths, None)
