"""Inception Score: mmagic's ``InceptionScore`` on torch-fidelity's Inception, weights file and arithmetic.

``IS = exp(E_x KL(p(y|x) || p(y)))`` per split of the N softmax vectors, mean and std over splits (the paper:
50k samples, 10 splits), on the logits without the classifier bias as the original IS code; torch-fidelity's
``isc_features_to_metric`` in float64 (mmagic's arithmetic; tests/evaluation/test_inception_score.py).
"""
from typing import Optional, Sequence

import torch
from mmagic.evaluation import InceptionScore
from torch import Tensor, nn
from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

from sagan_plugin.compat import OwnMetricNetwork
from sagan_plugin.registry import METRICS
from .generated_image_metric import GeneratedImageMetric
from .inception import FIDInceptionV3
from .weights import is_inception_path


@METRICS.register_module()
class OfflineIS(GeneratedImageMetric, OwnMetricNetwork, InceptionScore):
    """Inception Score (keys ``is``, ``is_std``) on torch-fidelity's TF-2015 Inception, fetched if missing.

    The network resizes to 299 itself (TF-1 bilinear, as the original TF IS code); mmagic's PIL pre-resize is
    not offered.

    Args:
        fake_nums: generated images (the paper: 50,000).
        inception_path: torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth``; None = where
            torch-fidelity's own download puts it.
        splits: groups for mean/std (the paper: 10).
        download: fetch a missing file from torch-fidelity's URL (checked by sha256); False: error at once.
        Others: as mmagic's ``InceptionScore`` and :class:`GeneratedImageMetric`.
    """
    name = 'OfflineIS'

    def __init__(self, fake_nums: int = 50000, splits: int = 10, download: bool = True, **kwargs):
        if kwargs.pop('resize', False):  # mmagic's InceptionScore would take it and our process ignore it
            raise ValueError(f'{type(self).__name__}: resize=True (PIL pre-resize) is not offered; the '
                             'Inception resizes to 299 itself (TF-1 bilinear)')
        self.download = download  # read by build_network, which mmagic's constructor calls
        super().__init__(fake_nums=fake_nums, splits=splits, resize=False, **kwargs)

    def build_network(self, path: Optional[str]) -> nn.Module:
        """uint8 RGB [N, 3, H, W] -> ``logits(x, no_output_bias=True)`` [N, C]."""
        state = torch.load(is_inception_path(path, self.download), map_location='cpu', weights_only=True)
        return FIDInceptionV3(state_dict=state)

    def network_output(self, rgb: Tensor) -> Tensor:
        return self.inception.logits(rgb, no_output_bias=True)

    def compute_metrics(self, fake_results: Sequence[Tensor]) -> dict:
        """IS over the first ``fake_nums`` logit vectors [1, C] each, in order (no shuffle)."""
        logits = torch.cat(list(fake_results))[:self.fake_nums].cpu()
        out = isc_features_to_metric(logits, splits=self.splits, shuffle=False)
        return {'is': out[KEY_METRIC_ISC_MEAN], 'is_std': out[KEY_METRIC_ISC_STD]}
