"""Fréchet / kernel distance in the feature space of any timm backbone, from a local weights file.

StudioGAN offers SwAV, DINO and Swin feature spaces, and Stein et al. (2023) recommend a self-supervised one
(e.g. DINOv2). :class:`TimmFD` is :class:`OfflineFID` in such a space (keys ``fd``, ``kd``/``kd_std``,
``precision``/``recall``), comparable only with numbers from the same backbone and weights. Nothing is
downloaded: the user provides the file.
"""
import os.path as osp
from typing import Optional

import timm
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sagan_plugin.registry import METRICS
from .inception import check_uint8_images
from .offline_fid import OfflineFID
from .weights import sha256_file


class TimmFeatureExtractor(nn.Module):
    """uint8 RGB [N, 3, H, W] -> pooled timm features [N, num_features] (or class probabilities, with a head).

    Preprocessing is the backbone's timm data config (size, interpolation, mean/std) on the whole image (no
    centre crop: a generated image has no margin to spare).

    Args:
        model_name: timm architecture, e.g. ``'vit_small_patch14_dinov2.lvd142m'``, ``'resnet50'``.
        weights_path: local ``.safetensors`` / ``.pth`` state dict, read by timm's ``load_state_dict``
            (``weights_only``; EMA / ``state_dict`` wrappers unwrapped).
        input_size: square input side; None = the model's timm default.
        num_classes: 0 = head-less (a file's classifier keys are ignored); else keep a classifier this wide.
        remap: take the file's tensors by position (timm's ``remap_state_dict``): another codebase's names.
    """

    def __init__(self,
                 model_name: str,
                 weights_path: str,
                 input_size: Optional[int] = None,
                 num_classes: int = 0,
                 remap: bool = False):
        super().__init__()
        if not (weights_path and osp.isfile(weights_path)):
            raise FileNotFoundError(
                f'backbone weights file {weights_path} not found. Nothing is downloaded at run time: on a '
                'machine with internet, save the model\'s state_dict (e.g. timm.create_model(name, '
                'pretrained=True).state_dict(), or the model.safetensors of its Hugging Face repo) and copy '
                'it to this path')
        self.model = timm.create_model(model_name, pretrained=False, num_classes=num_classes)
        state = timm.models.load_state_dict(weights_path)
        state = timm.models.remap_state_dict(state, self.model) if remap else state
        if not num_classes:
            head = self.model.default_cfg.get('classifier', 'classifier') + '.'
            state = {k: v for k, v in state.items() if not k.startswith(head)}
        try:
            self.model.load_state_dict(state)
        except RuntimeError as err:  # torch lists missing, unexpected and reshaped keys
            raise ValueError(f'{weights_path} does not fit timm\'s {model_name}: {err}') from None
        cfg = timm.data.resolve_model_data_config(self.model)
        self.size = input_size or cfg['input_size'][-1]
        self.interpolation = 'bicubic' if cfg['interpolation'] == 'bicubic' else 'bilinear'
        self.register_buffer('mean', torch.tensor(cfg['mean']).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(cfg['std']).view(1, 3, 1, 1), persistent=False)
        self.model_name, self.weights_sha256 = model_name, sha256_file(weights_path)
        self.requires_grad_(False).eval()

    def forward(self, x: Tensor, return_features: bool = True, no_output_bias: bool = False) -> Tensor:
        """Features [N, num_features], or softmax over the classes (without the classifier bias with
        ``no_output_bias``: the IS convention); mmagic's StyleGAN-Inception call."""
        check_uint8_images(x)
        if not (return_features or self.model.num_classes):
            raise RuntimeError('TimmFeatureExtractor is head-less (num_classes=0): it only returns features')
        img = x.float() / 255
        if img.shape[-2:] != (self.size, self.size):  # antialias when downsizing; clip overshoot as PIL does
            img = F.interpolate(
                img,
                size=(self.size, self.size),
                mode=self.interpolation,
                align_corners=False,
                antialias=True).clamp(0, 1)
        feats = self.model.forward_head(
            self.model.forward_features((img - self.mean) / self.std), pre_logits=True)
        if return_features:
            return feats
        fc = self.model.get_classifier()
        return F.linear(feats, fc.weight, None if no_output_bias else fc.bias).softmax(dim=1)

    def identity(self) -> dict:
        """What a statistics file must have been computed with to be reusable with this backbone."""
        return dict(
            name=f'timm:{self.model_name}',
            weights_sha256=self.weights_sha256,
            resize=f'torch_{self.interpolation}_antialias_{self.size}',
            input_scaling='timm mean/std',
            feature_dim=self.model.num_features)


@METRICS.register_module()
class TimmFD(OfflineFID):
    """Fréchet distance (+ optional KD, precision/recall) in a timm backbone's feature space, offline.

    Args:
        fake_nums: generated images to evaluate.
        model_name: timm architecture.
        weights: local weights file for it.
        input_size: square input side; None = timm's default for the model.
        Others: as :class:`OfflineFID` (``inception_pkl`` holds this space's statistics).
    """
    name = 'TimmFD'
    KEY_NAMES = dict(fid='fd', kid='kd', kid_std='kd_std')

    def __init__(self,
                 fake_nums: int,
                 model_name: str,
                 weights: str,
                 input_size: Optional[int] = None,
                 prefix: Optional[str] = None,
                 **kwargs):
        self.timm_args = dict(model_name=model_name, input_size=input_size)
        super().__init__(
            fake_nums=fake_nums, inception_path=weights, prefix=prefix or f'FD-{model_name}', **kwargs)

    def build_extractor(self, weights_path: Optional[str]) -> nn.Module:
        """The timm backbone with the user's weights file."""
        return TimmFeatureExtractor(weights_path=weights_path, **self.timm_args)
