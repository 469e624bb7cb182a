"""The part every metric here shares: mmagic's ``GenerativeMetric`` feeding generated images to a network.

mmagic's ``GenerativeMetric`` brings the sampler (``MultiValLoop`` / ``MultiTestLoop`` ask the model for
``fake_nums`` images in batches), the collection across ranks and the key prefix. mmagic's
``FrechetInceptionDistance`` and ``InceptionScore`` are not subclassed: their constructors load (or download)
mmagic's Inception through a private method. :class:`GeneratedImageMetric` adds what they would have given:

* ``process``: the generated image of each sample (``sample_model`` / ``fake_key`` / ``fake_img``, as mmagic),
  rounded to uint8 RGB (as saving a PNG; mmagic truncates), through ``self.inception``; only as many images as
  are still needed, so a partial last batch costs no network time;
* progress: a log line at the first batch and at each tenth of ``fake_nums`` (count, images/s including
  sampling, time left), so a long evaluation is not silent.
"""
import time
from typing import Sequence

import torch
from mmagic.evaluation.metrics.base_gen_metric import GenerativeMetric
from mmengine import print_log
from mmengine.dist import is_main_process
from torch import Tensor, nn


def to_uint8(images: Tensor) -> Tensor:
    """Float images in 0..255 -> uint8, rounding to nearest (as saving a PNG does; mmagic truncates)."""
    return images if images.dtype == torch.uint8 else images.round().clamp(0, 255).to(torch.uint8)


class GeneratedImageMetric(GenerativeMetric):
    """A ``GenerativeMetric`` (same constructor) whose results are ``self.inception``'s outputs [1, D], one
    per generated image."""
    inception: nn.Module  # set by the subclass: uint8 RGB [N, 3, H, W] -> [N, D]
    feature_batch_size = 64  # images per network pass (bounds memory; results do not depend on it)
    device = 'cpu'  # the model's, from prepare()
    _first, _next_report = (0, 0.0), 0  # (count, time) at the first batch; the next count to log

    def network_output(self, rgb: Tensor) -> Tensor:
        """uint8 RGB [n, 3, H, W] -> [n, D]; the subclass says which output of its network it takes."""
        raise NotImplementedError

    @torch.no_grad()
    def forward_inception(self, image: Tensor) -> Tensor:
        """BGR float images [N, 3, H, W] in 0..255 (mmagic's convention for metrics) -> outputs [N, D]."""
        rgb = to_uint8(image[:, [2, 1, 0]]).to(self.device)
        return torch.cat([self.network_output(chunk) for chunk in rgb.split(self.feature_batch_size)])

    def prepare(self, module: nn.Module, dataloader) -> None:
        """Before sampling: the network to the model's device."""
        super().prepare(module, dataloader)
        self.device = module.data_preprocessor.device
        self.inception.to(self.device)

    def fake_image(self, sample: dict) -> Tensor:
        """The generated image [3, H, W] of one model output, picked as mmagic's metrics do."""
        sample = sample.get(self.sample_model, sample)
        key = self.fake_key if self.fake_key is not None and self.fake_key in sample else 'fake_img'
        return sample[key]

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Network outputs of the generated images still needed, one [1, D] tensor each."""
        needed = self.fake_nums_per_device - len(self.fake_results)
        if needed <= 0:
            return
        images = torch.stack([self.fake_image(sample) for sample in data_samples[:needed]])
        self.fake_results += list(self.forward_inception(images).cpu().split(1))
        self.report_progress(first=len(self.fake_results) <= len(images))

    def report_progress(self, first: bool) -> None:
        """Log the count at the first batch, then with rate and time left at each tenth (main process only).

        The rate is that of the whole loop (sampling and every metric) since the first batch.
        """
        done, total, now = len(self.fake_results), self.fake_nums_per_device, time.perf_counter()
        if first:
            self._first, self._next_report = (done, now), done + max(1, total // 10)
        if not is_main_process() or not (first or done >= min(self._next_report, total)):
            return
        message = f'{self.__class__.__name__}: {done}/{total} generated images'
        if not first:
            rate = (done - self._first[0]) / max(now - self._first[1], 1e-9)
            message += f', {rate:.1f} images/s, about {(total - done) / rate:.0f} s left'
            self._next_report = done + max(1, total // 10)
        print_log(message, 'current')
