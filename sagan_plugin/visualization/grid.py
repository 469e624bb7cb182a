"""Image grids with titles drawn into the picture (legible at small image sizes)."""
from typing import Optional, Sequence

import numpy as np
from PIL import Image
from torch import Tensor
from torchvision.utils import make_grid

from .text import PAD, text_image


def image_grid(images: Tensor,
               ncol: int,
               col_titles: Optional[Sequence[str]] = None,
               row_titles: Optional[Sequence[str]] = None,
               pad: int = PAD) -> np.ndarray:
    """N images in rows of ``ncol`` on white, titles above the columns and left of the rows.

    Args:
        images: N×3×H×W uint8, row-major.
        ncol: images per row.
        col_titles: one title per column, or None.
        row_titles: one title per row, or None.
        pad: pixels between cells.

    Returns:
        The grid, H'×W'×3 uint8 RGB.
    """
    grid = Image.fromarray(make_grid(images, nrow=ncol, padding=pad, pad_value=255).permute(1, 2, 0).numpy())
    cell_w, cell_h = images.shape[-1] + pad, images.shape[-2] + pad
    if col_titles:
        labels = [text_image(t) for t in col_titles]
        if any(label.width > cell_w - 1 for label in labels):  # too wide for a column: all turned 90°
            labels = [label.rotate(90, expand=True) for label in labels]
        header = Image.new('RGB', (grid.width, max(im.height for im in labels) + pad), 'white')
        for i, label in enumerate(labels):  # centred over its column, bottom-aligned
            header.paste(label,
                         (pad + i * cell_w + (cell_w - pad - label.width) // 2, header.height - label.height))
        grid = _stack([header, grid], vertical=True)
    if row_titles:
        labels = [text_image(t) for t in row_titles]
        side = Image.new('RGB', (max(im.width for im in labels) + 2 * pad, grid.height), 'white')
        top = grid.height - (len(labels) * cell_h + pad)  # rows start below the header
        for i, label in enumerate(labels):
            side.paste(label, (pad, top + pad + i * cell_h + (cell_h - pad - label.height) // 2))
        grid = _stack([side, grid], vertical=False)
    return np.asarray(grid)


def _stack(parts: Sequence[Image.Image], vertical: bool) -> Image.Image:
    """Paste images one after another (top to bottom or left to right) on white."""
    width = max(p.width for p in parts) if vertical else sum(p.width for p in parts)
    height = sum(p.height for p in parts) if vertical else max(p.height for p in parts)
    out, offset = Image.new('RGB', (width, height), 'white'), 0
    for part in parts:
        out.paste(part, (0, offset) if vertical else (offset, 0))
        offset += part.height if vertical else part.width
    return out
