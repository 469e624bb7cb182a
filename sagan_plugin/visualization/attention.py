"""The attention maps β of the paper's Fig. 1 / Fig. 5: for a query position, its weights over all positions.

A layer is named ``generator.<resolution>`` or ``discriminator.<resolution>`` (the keys of the networks'
``attention`` ModuleDicts). Queries are (x, y) pixel positions in the image; each maps to the layer's query
grid (resolution r: cell ``(x·r // S, y·r // S)``), and its map lives on the key grid (r×r, or r/2×r/2
for the pooled variant, whose keys are 2×2 max-pooled positions).
"""
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from sagan_plugin.models.sampling import check_label_ids, network, sampling_generator, to_rgb_uint8
from sagan_plugin.models.self_attention import record_attention

NETWORKS = ('generator', 'discriminator')
# Spread over the image, centre first (the object in centred data sets), then around it.
AUTO_QUERIES = ((0.5, 0.5), (0.3, 0.3), (0.7, 0.7), (0.7, 0.3), (0.3, 0.7), (0.5, 0.2), (0.5, 0.8),
                (0.2, 0.5), (0.8, 0.5))


@dataclass
class AttentionMaps:
    """One layer's attention for a batch of images and a few queries.

    Attributes:
        layer: e.g. ``'generator.64'``.
        variant: ``'paper'`` or ``'pooled'``.
        gamma: the block's γ (how much of the attention output the layer adds).
        images: B×3×S×S uint8 RGB, the images the network made (G) or read (D).
        queries: Q (x, y) pixel positions in the images.
        maps: B×Q×h×w float, row β_j of each query j reshaped to the key grid; each sums to 1.
        ema: for generator layers, whether the EMA generator's block was read.
    """
    layer: str
    variant: str
    gamma: float
    images: Tensor
    queries: List[Tuple[int, int]]
    maps: Tensor
    ema: bool = False


def attention_layers(model: nn.Module) -> List[str]:
    """Every attention layer of the model's G and D, e.g. ``['generator.16', 'discriminator.16']``."""
    return [f'{net}.{key}' for net in NETWORKS for key in sorted(network(model, net).attention, key=int)]


def parse_layers(model: nn.Module, layers: Optional[Sequence[str]]) -> List[str]:
    """Check layer names (None: every layer whose network the checkpoint holds); errors list the valid ones.

    Args:
        model: the SAGAN (``checkpoint_parts`` from :func:`init_model` says which networks were loaded).
        layers: names such as ``'generator.64'``.
    """
    valid = attention_layers(model)
    loaded = getattr(model, 'checkpoint_parts', NETWORKS)
    if layers is None:
        return [name for name in valid if name.split('.')[0] in loaded or name.startswith('generator')]
    for name in layers:
        if name not in valid:
            raise ValueError(f'no attention layer {name!r}; this model has {valid}')
        if name.startswith('discriminator') and 'discriminator' not in loaded:
            raise ValueError(f'layer {name}: the checkpoint holds no discriminator.* weights')
    return list(layers)


def parse_queries(queries: Union[str, Sequence[str]], num_queries: int, size: int) -> List[Tuple[int, int]]:
    """(x, y) pixel positions from ``'auto'`` (``num_queries`` spread points) or strings ``'x,y'``.

    Args:
        queries: ``'auto'`` / ``['auto']`` or e.g. ``['16,8', '3,30']`` (x to the right, y down).
        num_queries: how many automatic queries (at most ``len(AUTO_QUERIES)``).
        size: image size S; positions must lie in [0, S).
    """
    if queries in ('auto', ['auto'], ('auto', )):
        if not 1 <= num_queries <= len(AUTO_QUERIES):
            raise ValueError(f'num_queries must be in [1, {len(AUTO_QUERIES)}], got {num_queries}')
        return [(int(fx * size), int(fy * size)) for fx, fy in AUTO_QUERIES[:num_queries]]
    points = []
    for text in queries:
        try:
            x, y = (int(v) for v in text.split(','))
        except ValueError:
            raise ValueError(f'query {text!r} is not "x,y" (two integers)') from None
        if not (0 <= x < size and 0 <= y < size):
            raise ValueError(f'query {text!r} lies outside the {size}×{size} image')
        points.append((x, y))
    return points


def query_maps(beta: Tensor, queries: Sequence[Tuple[int, int]], size: int) -> Tensor:
    """Rows of β for the queries, on the key grid.

    Args:
        beta: B×N×N_keys attention of a layer with N = r² query positions.
        queries: Q (x, y) pixel positions in S×S images.
        size: image size S.

    Returns:
        B×Q×h×w with h = w = √N_keys.
    """
    r, k = math.isqrt(beta.shape[1]), math.isqrt(beta.shape[2])
    index = torch.tensor([(y * r // size) * r + x * r // size for x, y in queries], device=beta.device)
    return beta[:, index].reshape(beta.shape[0], len(queries), k, k).float().cpu()


@torch.no_grad()
def generator_attention(model: nn.Module,
                        layers: Sequence[str],
                        noise: Tensor,
                        labels: Optional[Tensor],
                        queries: Sequence[Tuple[int, int]],
                        use_ema: Optional[bool] = None) -> Tuple[Tensor, List[AttentionMaps]]:
    """Generate images and read the generator's attention (eval mode, one forward).

    Args:
        model: the SAGAN.
        layers: generator layers, e.g. ``['generator.16']`` (others are skipped).
        noise: B×noise_size.
        labels: B class ids, or None (unconditional).
        queries: (x, y) pixel positions.
        use_ema: see :func:`sampling_generator`.

    Returns:
        The generated images in the network's range (B×C×S×S, what D takes) and one
        :class:`AttentionMaps` per generator layer.
    """
    generator, ema = sampling_generator(model, use_ema)
    check_label_ids(model, labels)
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()  # running BN statistics; no SN power iteration
    try:
        with record_attention(generator) as recorded:
            fake = generator(noise.to(device), None if labels is None else labels.to(device))
    finally:
        generator.train(was_training)
    images = to_rgb_uint8(model, fake)
    return fake, [
        _maps(generator, name, recorded, images, queries, ema) for name in layers
        if name.startswith('generator.')
    ]


@torch.no_grad()
def discriminator_attention(model: nn.Module, layers: Sequence[str], inputs: Tensor, labels: Optional[Tensor],
                            queries: Sequence[Tuple[int, int]]) -> List[AttentionMaps]:
    """Run D (eval mode) on images and read its attention.

    Args:
        model: the SAGAN.
        layers: discriminator layers, e.g. ``['discriminator.16']`` (others are skipped).
        inputs: B×C×S×S images in the network's range (generated, or read by ``apis.real_images``).
        labels: B class ids, or None (unconditional).
        queries: (x, y) pixel positions.
    """
    names = [name for name in layers if name.startswith('discriminator.')]
    if not names:
        return []
    check_label_ids(model, labels)
    disc = network(model, 'discriminator')
    device = next(disc.parameters()).device
    was_training = disc.training
    disc.eval()
    try:
        with record_attention(disc) as recorded:
            disc(inputs.to(device), None if labels is None else labels.to(device))
    finally:
        disc.train(was_training)
    images = to_rgb_uint8(model, inputs)
    return [_maps(disc, name, recorded, images, queries) for name in names]


def _maps(net: nn.Module,
          layer: str,
          recorded: dict,
          images: Tensor,
          queries: Sequence[Tuple[int, int]],
          ema: bool = False) -> AttentionMaps:
    """The :class:`AttentionMaps` of ``layer`` from what :func:`record_attention` stored."""
    key = layer.split('.', 1)[1]
    block = net.attention[key]
    beta = recorded[f'attention.{key}'][-1]
    return AttentionMaps(layer, block.variant, float(block.gamma), images, list(queries),
                         query_maps(beta, queries, images.shape[-1]), ema)
