"""Inception Score with the full TF-2015 Inception from a local (or fetched) file.

``IS = exp(E_x KL(p(y|x) || p(y)))`` per split of the N probability vectors, mean and std over splits (the
paper: 50k samples, 10 splits), softmax without the classifier bias as the original IS code. The network (with
its 1008-way classifier, which no package ships) is NVIDIA's or torch-fidelity's file, see weights.py.
"""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from PIL import Image
from scipy.stats import entropy
from torch import Tensor, nn

from sagan_plugin.registry import METRICS
from .generated_image_metric import GeneratedImageMetric
from .inception import load_full_inception
from .weights import DEFAULT_IS_INCEPTION, full_inception_path


def inception_score(probs: np.ndarray, splits: int) -> Tuple[float, float]:
    """(mean, std) over ``splits`` groups of ``exp(mean KL(p(y|x) || p(y)))`` for probabilities [N, C].

    mmagic's ``InceptionScore.compute_metrics`` arithmetic, vectorised in float64. Ours because
    torch-fidelity's ``isc_features_to_metric`` takes logits and NVIDIA's file gives probabilities
    (log 0 -> NaN).
    """
    size = len(probs) // splits
    parts = np.split(np.asarray(probs, np.float64)[:size * splits], splits)
    scores = [np.exp(entropy(part, part.mean(0, keepdims=True), axis=1).mean()) for part in parts]
    return float(np.mean(scores)), float(np.std(scores))


def pil_resize_299(rgb: Tensor) -> Tensor:
    """uint8 RGB [N, 3, H, W] -> [N, 3, 299, 299], PIL bicubic (mmagic's IS pre-resize, a private method)."""
    resized = [
        np.asarray(Image.fromarray(img.permute(1, 2, 0).cpu().numpy()).resize((299, 299), Image.BICUBIC))
        for img in rgb
    ]
    return torch.from_numpy(np.stack(resized)).permute(0, 3, 1, 2).to(rgb.device)


@METRICS.register_module()
class OfflineIS(GeneratedImageMetric):
    """Inception Score (keys ``is``, ``is_std``) with a local full TF-2015 Inception, fetched once if missing.

    Args:
        fake_nums: generated images (the paper: 50,000).
        inception_path: NVIDIA's ``inception-2015-12-05.pt`` or torch-fidelity's ``.pth``.
        splits: groups for mean/std (the paper: 10).
        resize: pre-resize to 299 with PIL bicubic (mmagic's default). False (ours) lets the network resize,
            as the original TF IS code did (TF-1 bilinear).
        download: fetch a missing file from its published URL (checked by sha256); False: error at once.
        Others: as :class:`GeneratedImageMetric`.
    """
    name = 'OfflineIS'

    def __init__(self,
                 fake_nums: int = 50000,
                 inception_path: Optional[str] = DEFAULT_IS_INCEPTION,
                 splits: int = 10,
                 resize: bool = False,
                 download: bool = True,
                 **kwargs):
        super().__init__(fake_nums=fake_nums, real_nums=0, real_key=None, **kwargs)
        self.splits, self.resize = splits, resize
        self.inception = self.build_network(inception_path, download).eval()

    def build_network(self, path: Optional[str], download: bool) -> nn.Module:
        """uint8 RGB [N, 3, H, W] -> probabilities: ``net(x, return_features=False, no_output_bias=True)``."""
        return load_full_inception(full_inception_path(path, download))

    def network_output(self, rgb: Tensor) -> Tensor:
        rgb = pil_resize_299(rgb) if self.resize else rgb
        return self.inception(rgb, return_features=False, no_output_bias=True)

    def compute_metrics(self, fake_results: Sequence[Tensor]) -> dict:
        """IS over the first ``fake_nums`` probability vectors [1, C] each."""
        mean, std = inception_score(torch.cat(list(fake_results))[:self.fake_nums].cpu().numpy(), self.splits)
        return {'is': mean, 'is_std': std}
