"""DiffAugment (Zhao, Liu, Lin, Zhu and Han, "Differentiable Augmentation for Data-Efficient GAN Training",
NeurIPS 2020, arXiv 2006.10738): random colour, translation and cutout applied to every image D sees, real
and fake, in the D step and in the G step. Each operation is differentiable in the pixels, so G's gradient
passes through the augmentation, and D never sees an un-augmented image, so it cannot learn that augmented
images are fake. With a few thousand images it keeps D from memorising the training set.

Written after the authors' reference code (github.com/mit-han-lab/data-efficient-gans,
DiffAugment_pytorch.py; BSD 2-Clause), with the same ranges: brightness +U(-0.5, 0.5), saturation x U(0, 2),
contrast x U(0.5, 1.5); translation by up to 1/8 of the side with zero fill; cutout of a half-side square
(zeros). Images are in [-1, 1], so zero fill is mid-grey, as in the reference.
"""
from typing import Callable, Dict, List, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor


def _rand(x: Tensor, low: float, high: float) -> Tensor:
    """U(low, high) per image, shaped [B, 1, 1, 1] to scale or shift images [B, C, H, W]."""
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) * (high - low) + low


def colour(x: Tensor) -> Tensor:
    """Random brightness, saturation and contrast of images [B, C, H, W]."""
    x = x + _rand(x, -0.5, 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * _rand(x, 0.0, 2.0) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _rand(x, 0.5, 1.5) + mean


def translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image [B, C, H, W] by up to ``ratio`` of its size in x and y, filling with zeros."""
    b, _, h, w = x.shape
    dy, dx = int(h * ratio), int(w * ratio)
    shift_y = torch.randint(-dy, dy + 1, (b, 1, 1), device=x.device)
    shift_x = torch.randint(-dx, dx + 1, (b, 1, 1), device=x.device)
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + shift_y + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + shift_x + 1).clamp(0, w + 1)
    padded = F.pad(x, (1, 1, 1, 1))  # out-of-range positions read the zero border
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero a random square of ``ratio`` x the size (clipped at the border) in each image [B, C, H, W]."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device) - ch // 2
    left = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device) - cw // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


AUGMENTATIONS: Dict[str, Callable[[Tensor], Tensor]] = dict(
    color=colour, translation=translation, cutout=cutout)


def parse_policy(policy: Union[None, str, Sequence[str]]) -> List[str]:
    """``'color,translation,cutout'`` (the paper's choice), a list of names, or None / '' (off)."""
    names = [p.strip() for p in policy.split(',')] if isinstance(policy, str) else list(policy or [])
    names = [n for n in names if n]
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f'diff_augment: unknown augmentation(s) {unknown}; known: {sorted(AUGMENTATIONS)} '
                         "(e.g. diff_augment='color,translation,cutout')")
    return names


def diff_augment(x: Tensor, policy: Sequence[str]) -> Tensor:
    """Images [B, C, H, W] in [-1, 1] through the augmentations named in ``policy``, in order; each image
    gets its own random parameters. Differentiable in ``x``; the identity for an empty policy."""
    for name in policy:
        x = AUGMENTATIONS[name](x)
    return x
