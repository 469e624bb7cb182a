"""What every metric here shares: mmagic's ``GenerativeMetric`` feeding the generated images to a network.

From mmagic's ``GenerativeMetric``: the sampler (its loops ask the model for ``fake_nums`` images in batches),
the collection across ranks, the key prefix. mmagic's ``FrechetInceptionDistance`` / ``InceptionScore``
are not subclassed because their constructors load (or download) mmagic's Inception in a private method.
"""
import time
from typing import Optional, Sequence

import torch
from mmagic.evaluation.metrics.base_gen_metric import GenerativeMetric
from mmengine import print_log
from mmengine.dist import is_main_process
from torch import Tensor, nn


class GeneratedImageMetric(GenerativeMetric):
    """A ``GenerativeMetric`` whose results are ``network_output`` of each generated image, [1, D] each.

    Args:
        feature_batch_size: images per network pass (bounds memory; results do not depend on it).
        fake_key, real_key, need_cond_input, sample_model, collect_device, prefix, sample_kwargs: as mmagic's
            ``GenerativeMetric`` (its defaults, except the real images' key and the model sampled).
    """
    inception: nn.Module  # set by the subclass: uint8 RGB [N, 3, H, W] -> [N, D]
    device = 'cpu'  # the model's, from prepare()

    def __init__(self,
                 fake_nums: int,
                 real_nums: int = 0,
                 feature_batch_size: int = 64,
                 fake_key: Optional[str] = None,
                 real_key: Optional[str] = 'gt_img',
                 need_cond_input: bool = False,
                 sample_model: str = 'orig',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 sample_kwargs: Optional[dict] = None):
        super().__init__(
            fake_nums=fake_nums,
            real_nums=real_nums,
            fake_key=fake_key,
            real_key=real_key,
            need_cond_input=need_cond_input,
            sample_model=sample_model,
            collect_device=collect_device,
            prefix=prefix,
            sample_kwargs=sample_kwargs or {})
        self.feature_batch_size = feature_batch_size
        self._first = (0, 0.0)  # (count, time) at the first batch
        self._next_report = 0  # the next count to log

    def network_output(self, rgb: Tensor) -> Tensor:
        """uint8 RGB [n, 3, H, W] -> [n, D]; the subclass says which output of its network it takes."""
        raise NotImplementedError

    @torch.no_grad()
    def forward_inception(self, image: Tensor) -> Tensor:
        """BGR float images [N, 3, H, W] in 0..255 (mmagic's convention for metrics) -> outputs [N, D].

        Rounded to uint8 as saving a PNG does (mmagic truncates).
        """
        rgb = image[:, [2, 1, 0]]
        rgb = rgb if rgb.dtype == torch.uint8 else rgb.round().clamp(0, 255).to(torch.uint8)
        return torch.cat(
            [self.network_output(chunk) for chunk in rgb.to(self.device).split(self.feature_batch_size)])

    def prepare(self, module: nn.Module, dataloader) -> None:
        """Before sampling: the network to the model's device."""
        super().prepare(module, dataloader)
        self.device = module.data_preprocessor.device
        self.inception.to(self.device)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Network outputs of the generated images still needed (a partial last batch costs no network time).

        Each image is picked as mmagic's metrics do: ``sample_model``'s output, ``fake_key`` or ``fake_img``.
        """
        needed = self.fake_nums_per_device - len(self.fake_results)
        if needed <= 0:
            return
        samples = [sample.get(self.sample_model, sample) for sample in data_samples[:needed]]
        images = torch.stack([s[self.fake_key if self.fake_key in s else 'fake_img'] for s in samples])
        self.fake_results += list(self.forward_inception(images).cpu().split(1))
        self.report_progress(first=len(self.fake_results) <= len(images))

    def report_progress(self, first: bool) -> None:
        """Log the count at the first batch, then rate and time left at each tenth (main process only).

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
