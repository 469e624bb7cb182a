"""What our metrics add to mmagic's: the generated images come from a seeded list of z and y, rounded.

A mixin placed before mmagic's ``FrechetInceptionDistance`` / ``InceptionScore`` in the bases; theirs are the
constructors, the collection across ranks and the key prefix. mmagic's sampler leaves z and y to the global
RNG (which a checkpoint restores) and its ``process`` truncates images to uint8: ours draw from
:mod:`.seeded_sampler` and round as saving a PNG does.
"""
import time
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine import print_log
from mmengine.dist import get_rank, is_main_process
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from sagan_plugin.models.sagan import SAGAN
from .seeded_sampler import SeededSampler, rank_indices, sample_labels

# Options that decide which images are generated: metrics sharing a sampler must agree on each.
SAMPLING_OPTIONS = ('sample_seed', 'truncation', 'balanced_classes')


class GeneratedImageMetric:
    """Mixin for an mmagic ``GenerativeMetric``: results are ``network_output`` of each generated image.

    The generated images come from a fixed, seeded list of z and y (:mod:`.seeded_sampler`): the same
    images whatever the number of processes, the batch size or the global RNG state (which a checkpoint
    restores), so two checkpoints, or two runs of one, are scored on the same latents.

    Args:
        feature_batch_size: images per network pass (bounds memory; results do not depend on it).
        sample_seed: seed of the z and y list; metrics that share generated images must share it.
        sample_kwargs: passed on to the model (mmagic's InceptionScore takes none itself).
        truncation: None, or T > 0: every |z_j| > T redrawn (BigGAN's truncation trick), same seeds across T.
        balanced_classes: class ``i % num_classes`` for sample ``i`` instead of a uniform draw (equal
            counts per class, for per-class metrics); z is the same either way.
        Others: the mmagic metric's, by keyword.
    """
    inception: nn.Module  # mmagic's constructor sets it (OwnMetricNetwork): uint8 RGB [N, 3, H, W] -> [N, D]
    device = 'cpu'  # the model's, from prepare()
    latent_shape = (0, 0)  # (noise_size, num_classes) of the model, from get_metric_sampler()

    def __init__(self,
                 feature_batch_size: int = 64,
                 sample_seed: int = 0,
                 sample_kwargs: Optional[dict] = None,
                 truncation: Optional[float] = None,
                 balanced_classes: bool = False,
                 **kwargs):
        if not isinstance(sample_seed, int) or isinstance(sample_seed, bool) or not 0 <= sample_seed < 2**31:
            raise ValueError(f'{type(self).__name__}: sample_seed must be an integer in [0, 2**31), got '
                             f'{sample_seed!r}')
        if truncation is not None and not (isinstance(truncation, (int, float)) and truncation > 0):
            raise ValueError(f'{type(self).__name__}: truncation must be None or a number > 0, got '
                             f'{truncation!r}')
        super().__init__(**kwargs)
        self.truncation, self.balanced_classes = truncation, bool(balanced_classes)
        self.feature_batch_size, self.sample_seed = feature_batch_size, sample_seed
        self.sample_kwargs = dict(sample_kwargs or {})
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
        """Before sampling: the network to the model's device (not mmagic's FID prepare: its own cache)."""
        self.device = module.data_preprocessor.device
        self.inception.to(self.device)

    def get_metric_sampler(self, model: nn.Module, dataloader, metrics: list) -> SeededSampler:
        """The seeded batches (instead of mmagic's, which leave z and y to the global RNG) for ``metrics``,
        the group of metrics that share this sampler (same ``sample_model``); this rank draws every index
        one of them takes."""
        model = model.module if is_model_wrapper(model) else model
        for option in SAMPLING_OPTIONS:
            values = {getattr(m, option, None) for m in metrics}
            if len(values) > 1:
                raise ValueError(
                    f'metrics that share generated images (same sample_model) need the same {option}, '
                    f'got {sorted(values, key=str)} for {[type(m).__name__ for m in metrics]}')
        if any(getattr(m, 'need_cond_input', False) for m in metrics):
            raise ValueError(
                f'{type(self).__name__}: need_cond_input=True is not supported; classes are drawn '
                'uniformly from the seeded list')
        noise_size, num_classes = getattr(model, 'noise_size', None), getattr(model, 'num_classes', 0) or 0
        if not noise_size or (num_classes and not isinstance(model, SAGAN)):
            raise TypeError(
                f'{type(self).__name__} draws z (and class ids) itself and hands them to the model; '
                f'{type(model).__name__} cannot take them (it needs a noise_size and, when '
                'class-conditional, to be a SAGAN)')
        counts = [m.fake_nums_per_device for m in metrics]
        for metric in metrics:
            metric.latent_shape = (noise_size, num_classes)
        return SeededSampler(
            rank_indices(get_rank(), counts), dataloader.batch_size, self.sample_seed, noise_size,
            num_classes, self.sample_model, self.sample_kwargs, self.truncation, self.balanced_classes)

    def fake_labels(self) -> np.ndarray:
        """Class ids int64 [fake_nums] of the generated images, in the order of the gathered results."""
        noise_size, num_classes = self.latent_shape
        return sample_labels(self.sample_seed, self.fake_nums, noise_size, num_classes, self.balanced_classes)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Network outputs of the generated images still needed (a partial last batch costs no network time).

        Each image is picked as mmagic's metrics do: ``sample_model``'s output, ``fake_key`` or ``fake_img``.
        """
        needed = self.fake_nums_per_device - len(self.fake_results)
        indices = data_batch.get('inputs', {}).get('sample_index') if isinstance(data_batch, dict) else None
        if indices is not None:  # from SeededSampler: keep this metric's share (rank_indices)
            first = get_rank() * self.fake_nums_per_device
            data_samples = [
                s for i, s in zip(indices, data_samples) if first <= i < first + self.fake_nums_per_device
            ]
        if needed <= 0 or not data_samples:
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
