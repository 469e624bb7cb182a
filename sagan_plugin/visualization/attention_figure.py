"""The layout of the paper's Fig. 1 / Fig. 5: per image, the image with the query points marked, then each
query's attention over the image (upsampled from the key grid, overlaid as a heat map)."""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.visualization import Visualizer
from PIL import Image, ImageDraw

from .attention import AttentionMaps
from .text import PAD, text_image

HEADER = 16  # pixels of the title line above each layer's rows
# Distinct, saturated marker colours (one per query), legible on grey and on the heat map's blue.
COLOURS = ((255, 0, 255), (0, 255, 0), (255, 255, 0), (0, 255, 255), (255, 128, 0), (255, 255, 255),
           (128, 0, 255), (255, 0, 0), (0, 128, 255))


def figure_size(images_per_layer: Sequence[int], num_queries: int, panel_size: int) -> Tuple[int, int]:
    """(width, height) of :func:`attention_figure`'s picture: layers stacked, each a title line and one row
    per image; one column for the marked image plus one per query."""
    return (PAD + (1 + num_queries) * (panel_size + PAD), PAD + sum(HEADER + n * (panel_size + PAD)
                                                                    for n in images_per_layer))


def overlay(image: np.ndarray, attention: torch.Tensor, alpha: float = 0.5) -> np.ndarray:
    """One query's map upsampled (bilinear) to the image and overlaid as a JET heat map.

    Args:
        image: P×P×3 uint8 RGB panel.
        attention: h×w weights on the key grid (any h = w ≤ P).
        alpha: weight of the heat map.
    """
    size = image.shape[:2]
    up = F.interpolate(attention[None, None].float(), size=size, mode='bilinear', align_corners=False)[0]
    # mmengine's feature-map overlay (min-max normalised, so weak maps still show where they point)
    return Visualizer.draw_featmap(up, overlaid_image=image, channel_reduction=None, topk=0, alpha=alpha)


def _mark(panel: Image.Image, points: Sequence[Tuple[float, float]], colours: Sequence[tuple]) -> None:
    draw, r = ImageDraw.Draw(panel), max(3, panel.width // 24)
    for (x, y), colour in zip(points, colours):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour, outline='black', width=1)


def _title(maps: AttentionMaps, width: int) -> Image.Image:
    """The layer's title line, shortened until it fits ``width`` pixels."""
    k, source = maps.maps.shape[-1], ' (EMA)' if maps.ema else ''
    for text in (f'{maps.layer}{source}  {maps.variant}  gamma={maps.gamma:.4f}  keys {k}x{k}',
                 f'{maps.layer}{source}  gamma={maps.gamma:.4f}', maps.layer):
        image = text_image(text)
        if image.width <= width:
            break
    return image


def attention_figure(layers: Sequence[AttentionMaps],
                     panel_size: int = 128,
                     alpha: float = 0.5,
                     image_titles: Optional[Sequence[str]] = None) -> np.ndarray:
    """The figure for one or more layers (with the same number of queries), layers stacked vertically.

    Args:
        layers: from :func:`generator_attention` / :func:`discriminator_attention`.
        panel_size: pixels per panel P (images are upsampled nearest, maps bilinear).
        alpha: weight of the heat map over the image.
        image_titles: one per image (e.g. its class name), written over the top of its first panel.

    Returns:
        H×W×3 uint8 RGB of :func:`figure_size`.
    """
    if not layers:
        raise ValueError('no attention layers to draw')
    num_queries = layers[0].maps.shape[1]
    width, height = figure_size([len(m.maps) for m in layers], num_queries, panel_size)
    figure, top = Image.new('RGB', (width, height), 'white'), PAD
    colours = [COLOURS[q % len(COLOURS)] for q in range(num_queries)]
    for maps in layers:
        if maps.maps.shape[1] != num_queries:
            raise ValueError(
                f'{maps.layer} has {maps.maps.shape[1]} queries, {layers[0].layer} {num_queries}')
        title = _title(maps, width - 2 * PAD)
        figure.paste(title, (PAD, top + (HEADER - title.height) // 2))
        top += HEADER
        size = maps.images.shape[-1]
        points = [((x + 0.5) * panel_size / size, (y + 0.5) * panel_size / size) for x, y in maps.queries]
        for b in range(len(maps.maps)):
            image = Image.fromarray(maps.images[b].permute(1, 2, 0).numpy()).resize((panel_size, panel_size),
                                                                                    Image.NEAREST)
            marked = image.copy()
            _mark(marked, points, colours)
            if image_titles:
                marked.paste(text_image(image_titles[b][:panel_size // 6]), (0, 0))
            figure.paste(marked, (PAD, top))
            for q in range(num_queries):
                panel = Image.fromarray(overlay(np.asarray(image), maps.maps[b, q], alpha))
                _mark(panel, points[q:q + 1], colours[q:q + 1])
                figure.paste(panel, (PAD + (q + 1) * (panel_size + PAD), top))
            top += panel_size + PAD
    return np.asarray(figure)
