"""Sampling API: truncation, per-class grids, seeds, interpolations, class checks."""
import math

import pytest
import torch

from sagan_plugin.apis import (class_names, image_grid, init_model, interpolate, parse_classes, sample_images,
                               to_rgb_uint8, truncated_noise)
from sagan_plugin.visualization.text import PAD
from tests.apis.checkpoints import tiny_config


def test_truncation_redraws_instead_of_clamping():
    """|z_i| <= T, and z follows the normal truncated to [-T, T] (a clamp would pile values up at ±T)."""
    t = 0.5
    z = truncated_noise(2000, 16, t, torch.Generator().manual_seed(0))
    assert z.abs().max() <= t and not (z.abs() == t).any()
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    expected_abs_mean = 2 * (phi(0) - phi(t)) / math.erf(t / math.sqrt(2))  # E|z| of the truncated normal
    assert abs(z.abs().mean().item() - expected_abs_mean) < 0.005
    again = truncated_noise(2000, 16, t, torch.Generator().manual_seed(0))
    assert torch.equal(z, again)
    with pytest.raises(ValueError, match='truncation must be > 0'):
        truncated_noise(1, 16, 0.0, torch.Generator())


def test_grid_has_one_column_per_class(model_and_checkpoint):
    model, _ = model_and_checkpoint
    samples = sample_images(model, classes=[0, 3, 7], per_class=2, seed=3)
    assert samples.images.shape == (6, 3, 32, 32) and samples.images.dtype == torch.uint8
    assert samples.labels.tolist() == [0, 3, 7, 0, 3, 7] and samples.ncol == 3
    assert samples.col_titles == ['T-shirt/top', 'Dress', 'Sneaker'] and samples.ema
    # each image is the EMA generator's output for its noise row and its column's class
    with torch.no_grad():
        direct = to_rgb_uint8(model, model.generator_ema.module(samples.noise, samples.labels))
    assert torch.equal(direct, samples.images)
    grid = image_grid(samples.images, samples.ncol, samples.col_titles)
    cell = 32 + PAD
    assert grid.shape[1] == PAD + 3 * cell
    header = grid.shape[0] - (PAD + 2 * cell)
    assert header > 5 and (grid[:header] < 128).any()  # the class names are drawn above the columns
    for i, image in enumerate(samples.images):
        r, c = divmod(i, 3)
        top, left = header + PAD + r * cell, PAD + c * cell
        assert (grid[top:top + 32, left:left + 32] == image.permute(1, 2, 0).numpy()).all()


def test_same_seed_same_images(model_and_checkpoint):
    model, _ = model_and_checkpoint
    first = sample_images(model, per_class=2, truncation=0.8, seed=11, batch_size=7)
    second = sample_images(model, per_class=2, truncation=0.8, seed=11, batch_size=7)
    other = sample_images(model, per_class=2, truncation=0.8, seed=12, batch_size=7)
    assert torch.equal(first.images, second.images) and torch.equal(first.noise, second.noise)
    assert not torch.equal(first.images, other.images)
    assert first.noise.abs().max() <= 0.8 and first.images.shape[0] == 20


def test_raw_generator_on_request(model_and_checkpoint):
    model, _ = model_and_checkpoint
    raw = sample_images(model, classes=[1], per_class=2, use_ema=False)
    with torch.no_grad():
        direct = to_rgb_uint8(model, model.generator(raw.noise, raw.labels))
    assert not raw.ema and torch.equal(direct, raw.images)
    assert not torch.equal(raw.images, sample_images(model, classes=[1], per_class=2).images)


def test_class_interpolation_goes_from_class_a_to_class_b(model_and_checkpoint):
    model, _ = model_and_checkpoint
    rows = interpolate(model, 'class', classes=[1, 8, 5], steps=5, per_class=2, seed=4)
    assert rows.images.shape == (2 * 2 * 5, 3, 32, 32) and rows.ncol == 5
    assert rows.row_titles == [
        'Trouser -> Bag #0', 'Trouser -> Bag #1', 'Bag -> Sandal #0', 'Bag -> Sandal #1'
    ]
    weights = rows.labels.view(4, 5, 10)
    torch.testing.assert_close(weights[0, :, 1], torch.linspace(1, 0, 5))
    torch.testing.assert_close(weights[0, :, 8], torch.linspace(0, 1, 5))
    # the ends are the plain class samples of that z (one-hot weights = the class's embedding)
    z = rows.noise.view(4, 5, -1)[0, 0]
    with torch.no_grad():
        ends = to_rgb_uint8(model, model.generator_ema.module(z.expand(2, -1), torch.tensor([1, 8])))
    assert torch.equal(rows.images[0], ends[0]) and torch.equal(rows.images[4], ends[1])
    assert torch.equal(rows.noise.view(4, 5, -1)[0], z.expand(5, -1))  # z fixed along the row
    with pytest.raises(ValueError, match='two or more classes'):
        interpolate(model, 'class', classes=[3])


def test_latent_interpolation_shares_z_pairs_across_classes(model_and_checkpoint):
    model, _ = model_and_checkpoint
    rows = interpolate(model, 'latent', classes=['Bag', 2], steps=4, per_class=1, truncation=1.0, seed=2)
    assert rows.row_titles == ['Bag #0', 'Pullover #0'] and rows.labels.tolist() == [8] * 4 + [2] * 4
    noise = rows.noise.view(2, 4, -1)
    assert torch.equal(noise[0], noise[1]) and noise.abs().max() <= 1.0
    torch.testing.assert_close(noise[0, 1], noise[0, 0] + (noise[0, 3] - noise[0, 0]) / 3)
    assert not torch.equal(rows.images[0], rows.images[3])
    with pytest.raises(ValueError, match="'sideways'"):
        interpolate(model, 'sideways')


def test_classes_are_checked_where_they_enter(model_and_checkpoint):
    model, _ = model_and_checkpoint
    assert class_names(model)[9] == 'Ankle boot'
    assert parse_classes(model, ['ankle boot', '3', 0]).tolist() == [9, 3, 0]
    with pytest.raises(ValueError, match='class 12 is outside'):
        sample_images(model, classes=[12])
    with pytest.raises(ValueError, match="'Jacket' is neither an id nor one of the class names"):
        parse_classes(model, ['Jacket'])


def test_unconditional_model_samples_without_classes():
    model = init_model(tiny_config(num_classes=0))
    samples = sample_images(model, per_class=5, seed=1)
    assert samples.images.shape == (5, 3, 32, 32) and samples.labels is None and samples.col_titles is None
    rows = interpolate(model, 'latent', steps=3, per_class=2)
    assert rows.images.shape == (6, 3, 32, 32) and rows.row_titles == ['#0', '#1']
    with pytest.raises(ValueError, match='unconditional'):
        sample_images(model, classes=[1])
