"""Fréchet / kernel distance in the feature space of any timm backbone, from a local weights file.

Inception features are not the only choice: StudioGAN offers SwAV, DINO and Swin backbones, and recent
evaluation work (Stein et al. 2023, "Exposing flaws of generative model evaluation metrics") recommends FD in
a self-supervised space (e.g. DINOv2). :class:`TimmFeatureExtractor` wraps ``timm.create_model(model_name,
num_classes=0)`` (the pooled pre-logits features) with weights read from a file the user provides; nothing is
downloaded. :class:`TimmFD` is :class:`OfflineFID` in that space; its keys are ``fd``, ``kd``/``kd_std``
(KID's formula in this space) and ``precision``/``recall``. These numbers are only comparable with numbers
from the same backbone and weights.

Preprocessing follows the backbone's timm data config (input size, interpolation, mean/std), except that the
whole image is resized (no centre crop: a generated image has no margin to spare).
"""
import os.path as osp
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sagan_plugin.registry import METRICS
from .feature_metrics import OfflineFID
from .fid_inception import check_uint8_images
from .weights import sha256_file


def load_state_dict_file(path: str) -> dict:
    """A state dict from ``.safetensors`` or a torch file (``weights_only=True``: tensors only, no code)."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'backbone weights file {path} not found. Nothing is downloaded at run time: on a '
            'machine with internet, save the model\'s state_dict (e.g. timm.create_model(name, '
            'pretrained=True).state_dict(), or the model.safetensors of its Hugging Face repo) '
            'and copy it to this path')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path)
    state = torch.load(path, map_location='cpu', weights_only=True)
    for key in ('state_dict', 'model'):  # common checkpoint wrappers
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    return state


def load_backbone_weights(model: nn.Module, state: dict, classifier: str, source: str) -> None:
    """Load ``state`` into a head-less timm ``model``: classifier keys may be extra, nothing else."""
    own = model.state_dict()
    extra = [k for k in state if k not in own and not k.startswith(classifier + '.')]
    missing = [k for k in own if k not in state]
    wrong = [k for k in own if k in state and state[k].shape != own[k].shape]
    if extra or missing or wrong:
        raise ValueError(
            f'{source} does not fit timm\'s {model.default_cfg.get("architecture")}: '
            f'{len(missing)} missing (e.g. {missing[:3]}), {len(extra)} unexpected (e.g. {extra[:3]}), '
            f'{len(wrong)} with other shapes (e.g. {wrong[:3]})')
    model.load_state_dict({k: state[k] for k in own})


class TimmFeatureExtractor(nn.Module):
    """uint8 RGB [N, 3, H, W] -> pooled timm backbone features [N, num_features].

    Args:
        model_name: timm architecture name, e.g. ``'vit_small_patch14_dinov2.lvd142m'`` or
        ``'tf_efficientnet_lite0'``. weights_path: local ``.safetensors`` / ``.pth`` state dict for that
        architecture. input_size: square input side; None = the model's timm default.
    """

    def __init__(self, model_name: str, weights_path: str, input_size: Optional[int] = None):
        super().__init__()
        import timm
        self.model = timm.create_model(model_name, pretrained=False, num_classes=0)
        classifier = self.model.default_cfg.get('classifier', 'classifier')
        load_backbone_weights(self.model, load_state_dict_file(weights_path), classifier, weights_path)
        cfg = timm.data.resolve_model_data_config(self.model)
        self.size = input_size or cfg['input_size'][-1]
        self.interpolation = 'bicubic' if cfg['interpolation'] == 'bicubic' else 'bilinear'
        self.register_buffer('mean', torch.tensor(cfg['mean']).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(cfg['std']).view(1, 3, 1, 1), persistent=False)
        self.model_name, self.weights_sha256 = model_name, sha256_file(weights_path)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: Tensor, return_features: bool = True, no_output_bias: bool = False) -> Tensor:
        """Features [N, num_features] of uint8 RGB images [N, 3, H, W] (the StyleGAN-style call of mmagic)."""
        if not return_features:
            raise RuntimeError('TimmFeatureExtractor is head-less (num_classes=0): it only returns features')
        check_uint8_images(x)
        img = x.float() / 255
        if img.shape[-2:] != (self.size, self.size):
            # antialias: downsizing large real images must not alias; bicubic overshoot is clipped like PIL's.
            img = F.interpolate(
                img,
                size=(self.size, self.size),
                mode=self.interpolation,
                align_corners=False,
                antialias=True).clamp(0, 1)
        return self.model((img - self.mean) / self.std)

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
        super().__init__(fake_nums, inception_path=weights, prefix=prefix or f'FD-{model_name}', **kwargs)

    def build_extractor(self, weights_path: Optional[str]) -> nn.Module:
        """The timm backbone with the user's weights file."""
        if weights_path is None:
            raise ValueError('TimmFD needs weights=<local weights file>; nothing is downloaded')
        return TimmFeatureExtractor(weights_path=weights_path, **self.timm_args)
