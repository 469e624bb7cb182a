"""Sampling from a SAGAN generator: per-class grids, truncated noise, latent and class interpolations.

Everything random comes from one ``torch.Generator`` seeded with ``seed`` on the CPU, so the same seed gives
the same images on any device and the global RNG is left alone. ``bn_mode`` picks the BatchNorm statistics the
generator samples with (:mod:`sagan_plugin.models.bn_modes`); the model is unchanged afterwards.
"""
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from sagan_plugin.models.bn_modes import sampling_bn
from sagan_plugin.models.sampling import check_label_ids, sampling_generator, to_rgb_uint8, truncated_noise
from .inference import class_names, parse_classes

INTERPOLATIONS = ('latent', 'class')


@dataclass
class Samples:
    """Generated images and what made them.

    Attributes:
        images: N×3×H×W uint8 RGB, row-major in the grid (``ncol`` images per row).
        labels: N class ids, N×K class weights (class interpolation) or None (unconditional).
        noise: N×noise_size, the z that made each image.
        ncol: images per grid row (one column per class for a class grid).
        ema: whether the EMA generator made them.
        col_titles: a title per column (class names or ids), or None.
        row_titles: a title per row (interpolations), or None.
    """
    images: Tensor
    labels: Optional[Tensor]
    noise: Tensor
    ncol: int
    ema: bool
    col_titles: Optional[List[str]] = None
    row_titles: Optional[List[str]] = None


@dataclass
class GridInputs:
    """What a class grid is made from, before any image exists (:func:`class_grid_inputs`).

    Attributes:
        noise: N×noise_size.
        labels: N class ids, or None (unconditional).
        ncol: images per grid row (one column per class).
        col_titles: a title per column (class names or ids), or None.
    """
    noise: Tensor
    labels: Optional[Tensor]
    ncol: int
    col_titles: Optional[List[str]] = None


@torch.no_grad()
def generate(model: nn.Module,
             noise: Tensor,
             labels: Optional[Tensor],
             batch_size: int = 64,
             use_ema: Optional[bool] = None,
             progress: bool = False,
             bn_mode: str = 'running',
             truncation: Optional[float] = None,
             standing: Optional[dict] = None) -> Iterator[Tensor]:
    """Run the generator batch by batch; yields B×3×H×W uint8 RGB batches in order.

    Args:
        model: the SAGAN (see :func:`sampling_generator` for which generator runs).
        noise: N×noise_size.
        labels: N class ids or N×K class weights; None for an unconditional model.
        batch_size: images per forward.
        use_ema: see :func:`sampling_generator`.
        progress: show a tqdm progress bar.
        bn_mode: ``'running'`` (eval-mode BatchNorm, as trained), ``'batch'`` (each forward's own batch
            statistics: images depend on ``batch_size`` and on what else is in their batch) or
            ``'standing'`` (statistics re-estimated at ``truncation`` first).
        truncation: the truncation ``noise`` was drawn with; only ``'standing'`` reads it.
        standing: ``num_batches``, ``batch_size``, ``seed`` of the standing passes (defaults 100, 50, 0).
    """
    generator, _ = sampling_generator(model, use_ema)
    check_label_ids(model, labels)
    device = next(generator.parameters()).device
    with sampling_bn(generator, bn_mode, truncation, **(standing or {})):
        for start in tqdm(range(0, len(noise), batch_size), disable=not progress, unit='batch'):
            stop = start + batch_size
            label = None if labels is None else labels[start:stop].to(device)
            yield to_rgb_uint8(model, generator(noise[start:stop].to(device), label))


def class_grid_inputs(model: nn.Module,
                      classes: Optional[Sequence[Union[int, str]]] = None,
                      per_class: int = 1,
                      truncation: Optional[float] = None,
                      seed: int = 0) -> GridInputs:
    """Noise and labels of a grid with one column per class and ``per_class`` rows (no images yet).

    Args:
        model: the SAGAN.
        classes: class ids or names, one column each; None: every class. Unconditional: must be None, and
            the grid is ``per_class`` images in rows of up to 10.
        per_class: rows of the grid (images per class).
        truncation: see :func:`truncated_noise`.
        seed: seeds the noise.
    """
    if per_class < 1:
        raise ValueError(f'per_class must be >= 1, got {per_class}')
    ids = parse_classes(model, classes)
    names = class_names(model)
    ncol = min(per_class, 10) if ids is None else len(ids)
    num = per_class if ids is None else per_class * len(ids)
    noise = truncated_noise(num, model.noise_size, truncation, torch.Generator().manual_seed(seed))
    titles = None if ids is None else [names[i] if names else f'class {i}' for i in ids.tolist()]
    return GridInputs(noise, None if ids is None else ids.repeat(per_class), ncol, col_titles=titles)


def sample_images(model: nn.Module,
                  classes: Optional[Sequence[Union[int, str]]] = None,
                  per_class: int = 1,
                  truncation: Optional[float] = None,
                  seed: int = 0,
                  batch_size: int = 64,
                  use_ema: Optional[bool] = None,
                  progress: bool = False,
                  bn_mode: str = 'running',
                  standing: Optional[dict] = None) -> Samples:
    """``per_class`` images of each class, as a grid with one column per class (see
    :func:`class_grid_inputs` for the arguments, :func:`generate` for ``batch_size``, ``use_ema``,
    ``progress``, ``bn_mode``, ``standing``)."""
    inputs = class_grid_inputs(model, classes, per_class, truncation, seed)
    images = torch.cat(
        list(
            generate(model, inputs.noise, inputs.labels, batch_size, use_ema, progress, bn_mode, truncation,
                     standing)))
    return Samples(
        images,
        inputs.labels,
        inputs.noise,
        inputs.ncol,
        sampling_generator(model, use_ema)[1],
        col_titles=inputs.col_titles)


def interpolate(model: nn.Module,
                mode: str,
                classes: Optional[Sequence[Union[int, str]]] = None,
                steps: int = 8,
                per_class: int = 1,
                truncation: Optional[float] = None,
                seed: int = 0,
                batch_size: int = 64,
                use_ema: Optional[bool] = None,
                progress: bool = False,
                bn_mode: str = 'running',
                standing: Optional[dict] = None) -> Samples:
    """Rows of ``steps`` images, t = 0 … 1 from left to right.

    - ``mode='latent'``: each row goes linearly from z_a to z_b at a fixed class; rows are the classes ×
      ``per_class`` pairs (pair p is the same for every class).
    - ``mode='class'``: each row mixes the conditional-BN embeddings of two classes,
      ``(1-t)·onehot(a) + t·onehot(b)``, at a fixed z; rows are consecutive pairs of ``classes`` (a→b, b→c,
      …) × ``per_class`` z.

    Args:
        model: the SAGAN.
        mode: ``'latent'`` or ``'class'``.
        classes: class ids or names; None: every class (latent) or 0→1→…→K-1 (class).
        steps: images per row (≥ 2).
        per_class: pairs of z (latent) or z per class pair (class).
        truncation, seed, batch_size, use_ema, progress, bn_mode, standing: as in :func:`sample_images`.
    """
    if mode not in INTERPOLATIONS:
        raise ValueError(f'interpolation mode must be one of {INTERPOLATIONS}, got {mode!r}')
    if steps < 2 or per_class < 1:
        raise ValueError(f'need steps >= 2 and per_class >= 1, got steps={steps}, per_class={per_class}')
    ids = parse_classes(model, classes)
    names = class_names(model) or [f'class {i}' for i in range(model.num_classes)]
    z = truncated_noise(2 * per_class, model.noise_size, truncation, torch.Generator().manual_seed(seed))
    rows = _latent_rows if mode == 'latent' else _class_rows
    noise, labels, titles = rows(model, ids, names, steps, z)
    images = torch.cat(
        list(generate(model, noise, labels, batch_size, use_ema, progress, bn_mode, truncation, standing)))
    return Samples(images, labels, noise, steps, sampling_generator(model, use_ema)[1], row_titles=titles)


def _latent_rows(model: nn.Module, ids: Optional[Tensor], names: List[str], steps: int,
                 z: Tensor) -> Tuple[Tensor, Optional[Tensor], List[str]]:
    """Noise, labels and row titles of latent interpolations: z pairs (z[2p], z[2p+1]) at each class.

    Args:
        model: the SAGAN (unused; the signature matches :func:`_class_rows`).
        ids: the classes (None if unconditional).
        names: class names by id.
        steps: images per row.
        z: 2·pairs × noise_size.
    """
    t = torch.linspace(0, 1, steps)[:, None]
    paths = [(1 - t) * a + t * b for a, b in z.view(-1, 2, z.shape[1])]  # per pair: steps × noise_size
    rows = [(c, p) for c in ([None] if ids is None else ids.tolist()) for p in range(len(paths))]
    noise = torch.cat([paths[p] for _, p in rows])
    labels = None if ids is None else torch.tensor([c for c, _ in rows]).repeat_interleave(steps)
    return noise, labels, [f'#{p}' if c is None else f'{names[c]} #{p}' for c, p in rows]


def _class_rows(model: nn.Module, ids: Optional[Tensor], names: List[str], steps: int,
                z: Tensor) -> Tuple[Tensor, Optional[Tensor], List[str]]:
    """Noise, class weights and row titles of class interpolations a→b at fixed z (the first half of ``z``);
    arguments as in :func:`_latent_rows`."""
    if ids is None or len(ids) < 2:
        raise ValueError('class interpolation needs a conditional model and two or more classes, got '
                         f'{None if ids is None else ids.tolist()}')
    t, z = torch.linspace(0, 1, steps)[:, None], z[:len(z) // 2]
    onehot = F.one_hot(ids, model.num_classes).float()
    rows = [(i, p) for i in range(len(ids) - 1) for p in range(len(z))]
    noise = torch.cat([z[p].expand(steps, -1) for _, p in rows])
    labels = torch.cat([(1 - t) * onehot[i] + t * onehot[i + 1] for i, _ in rows])
    return noise, labels, [f'{names[ids[i]]} -> {names[ids[i + 1]]} #{p}' for i, p in rows]
