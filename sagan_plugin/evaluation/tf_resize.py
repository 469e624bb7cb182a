"""TensorFlow-1.x bilinear resize, written to be TorchScript-able and bit-exact with torch-fidelity's.

The FID Inception was trained and published inside a TF-1 graph whose first op is ``ResizeBilinear`` with
``align_corners=False`` (the legacy TF-1 convention, *not* PyTorch's half-pixel one). torch-fidelity
re-implements it as ``interpolate_bilinear_2d_like_tensorflow1x(..., method='slow')``; that function is not
scriptable (closures, tracing checks), so this module repeats the same float32 operations in the same order.
The test ``tests/evaluation/test_fid_inception.py`` checks bit-exactness against torch-fidelity on random
images.

For an output pixel ``o`` along an axis of input length ``n_in`` and output length ``n_out``::

    src = o * (n_in / n_out)          (float32; no half-pixel offset, unlike F.interpolate)
    lo  = floor(src),  hi = min(lo + 1, n_in - 1),  d = src - lo
    out = x[lo] + (x[hi] - x[lo]) * d
"""
from typing import Tuple

import torch
from torch import Tensor

# Name recorded in statistics files, so that stats made with a different resize are rejected.
TF1_BILINEAR = 'tf1x_bilinear_align_corners_false'


def _tf1_grid(in_size: int, out_size: int, device: torch.device) -> Tuple[Tensor, Tensor, Tensor]:
    """Source indices and weights along one axis.

    Returns:
        (lo, hi, d): int64 [out_size] lower/upper source index and float32 [out_size] weight of ``hi``.
    """
    # torch-fidelity multiplies a float32 arange by a float32 scalar tensor; do the same for bit-exactness.
    scale = torch.tensor(in_size / out_size, dtype=torch.float32, device=device)
    grid = torch.arange(0, out_size, 1, dtype=torch.float32, device=device) * scale
    lo = grid.long()
    hi = (lo + 1).clamp_max(in_size - 1)
    return lo, hi, grid - lo.float()


def tf1_bilinear_resize(x: Tensor, height: int, width: int) -> Tensor:
    """Resize ``x`` [N, C, H, W] (float32) to [N, C, height, width] exactly as TF-1 ``ResizeBilinear``.

    Args:
        x: float32 images, any value range (the Inception wrappers pass 0..255).
        height: output height.
        width: output width.

    Returns:
        float32 [N, C, height, width].
    """
    if x.dim() != 4:
        raise ValueError('tf1_bilinear_resize expects a 4-D [N, C, H, W] tensor')
    if not x.is_floating_point():
        raise ValueError('tf1_bilinear_resize expects a floating point tensor')
    y_lo, y_hi, dy = _tf1_grid(x.shape[2], height, x.device)
    x_lo, x_hi, dx = _tf1_grid(x.shape[3], width, x.device)
    # Gather rows first, then columns, in torch-fidelity's order (float rounding depends on it).
    in_00 = x[:, :, y_lo, :][:, :, :, x_lo]
    in_01 = x[:, :, y_lo, :][:, :, :, x_hi]
    in_10 = x[:, :, y_hi, :][:, :, :, x_lo]
    in_11 = x[:, :, y_hi, :][:, :, :, x_hi]
    dx = dx.view(1, 1, 1, width)
    in_0 = in_00 + (in_01 - in_00) * dx
    in_1 = in_10 + (in_11 - in_10) * dx
    return in_0 + (in_1 - in_0) * dy.view(1, 1, height, 1)
