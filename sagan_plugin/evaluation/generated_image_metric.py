"""What our metrics add to mmagic's: the generated images come from a seeded list of z and y, rounded.

A mixin placed before mmagic's ``FrechetInceptionDistance`` / ``InceptionScore`` in the bases; theirs are the
constructors, the collection across ranks and the key prefix. mmagic's sampler leaves z and y to the global
RNG (which a checkpoint restores) and its ``process`` truncates images to uint8: ours draw from
:mod:`.seeded_sampler` and round as saving a PNG does.
"""
import contextlib
import time
from typing import Iterable, Iterator, List, Optional, Sequence

import numpy as np
import torch
from mmengine import print_log
from mmengine.dist import get_rank, is_main_process
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from sagan_plugin.models.bn_modes import check_bn_mode, sampling_bn
from sagan_plugin.models.sagan import SAGAN
from sagan_plugin.models.sampling import network
from .seeded_sampler import SeededSampler, rank_indices, sample_labels

# Options that decide which images are generated: metrics sharing a sampler must agree on each.
SAMPLING_OPTIONS = ('sample_seed', 'truncation', 'balanced_classes', 'bn_mode', 'standing_stats')
STANDING_DEFAULTS = dict(num_batches=100, batch_size=50, seed=0)  # sampling_bn's passes for 'standing'
GENERATORS = {'ema': ('generator_ema', ), 'orig': ('generator', ), 'ema/orig': ('generator_ema', 'generator')}


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
        bn_mode: the generator's BatchNorm statistics while sampling (:mod:`sagan_plugin.models.bn_modes`):
            ``'running'`` (as trained), ``'batch'`` (each generated batch's own statistics: the result depends
            on the dataloader's batch size and the number of processes) or ``'standing'`` (re-estimated at
            ``truncation`` before sampling). The model is restored when sampling ends or fails.
        standing_stats: for ``'standing'``, a dict over ``STANDING_DEFAULTS`` (``num_batches`` passes of
            ``batch_size`` samples, z and y from ``seed``).
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
                 bn_mode: str = 'running',
                 standing_stats: Optional[dict] = None,
                 **kwargs):
        if not isinstance(sample_seed, int) or isinstance(sample_seed, bool) or not 0 <= sample_seed < 2**31:
            raise ValueError(f'{type(self).__name__}: sample_seed must be an integer in [0, 2**31), got '
                             f'{sample_seed!r}')
        if truncation is not None and not (isinstance(truncation, (int, float)) and truncation > 0):
            raise ValueError(f'{type(self).__name__}: truncation must be None or a number > 0, got '
                             f'{truncation!r}')
        check_bn_mode(bn_mode, f'{type(self).__name__}: bn_mode')
        unknown = set(standing_stats or {}) - set(STANDING_DEFAULTS)
        if unknown or (standing_stats and bn_mode != 'standing'):
            raise ValueError(
                f'{type(self).__name__}: standing_stats takes {sorted(STANDING_DEFAULTS)} and only '
                f"with bn_mode='standing'; got {standing_stats!r} with bn_mode={bn_mode!r}")
        super().__init__(**kwargs)
        self.truncation, self.balanced_classes = truncation, bool(balanced_classes)
        self.bn_mode, self.standing_stats = bn_mode, {**STANDING_DEFAULTS, **(standing_stats or {})}
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

    def get_metric_sampler(self, model: nn.Module, dataloader, metrics: list) -> Iterable[dict]:
        """The seeded batches (instead of mmagic's, which leave z and y to the global RNG) for ``metrics``,
        the group of metrics that share this sampler (same ``sample_model``); this rank draws every index
        one of them takes. A ``bn_mode`` other than ``'running'`` wraps them in a :class:`BNModeSampler`."""
        model = model.module if is_model_wrapper(model) else model
        for option in SAMPLING_OPTIONS:
            values = []  # a list: standing_stats is a dict
            for value in (getattr(m, option, None) for m in metrics):
                values += [] if value in values else [value]
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
        sampler = SeededSampler(
            rank_indices(get_rank(), counts), dataloader.batch_size, self.sample_seed, noise_size,
            num_classes, self.sample_model, self.sample_kwargs, self.truncation, self.balanced_classes)
        if self.bn_mode == 'running':  # the loop has put the model in eval mode: nothing to switch
            return sampler
        return BNModeSampler(sampler, self.sampling_generators(model), self.bn_mode, self.truncation,
                             self.standing_stats)

    def sampling_generators(self, model: nn.Module) -> List[nn.Module]:
        """The generator(s) that ``sample_model`` samples with (the EMA one without its wrapper)."""
        if self.sample_model not in GENERATORS:
            raise ValueError(f'{type(self).__name__}: sample_model must be one of {sorted(GENERATORS)}, got '
                             f'{self.sample_model!r}')
        if 'ema' in self.sample_model and not getattr(model, 'with_ema_gen', False):
            raise ValueError(
                f'{type(self).__name__}: sample_model={self.sample_model!r} but the model has no '
                'EMA generator')
        generators = [network(model, name) for name in GENERATORS[self.sample_model]]
        return [getattr(g, 'module', g) for g in generators]  # mmagic's EMA wrapper keeps it in .module

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


class BNModeSampler:
    """A sampler whose batches are generated with the generators' BatchNorm in ``bn_mode``.

    The mode is switched on when the evaluation loop starts iterating and switched back (every buffer,
    momentum and train flag, :func:`sampling_bn`) when the iteration ends: exhausted, or abandoned because
    sampling failed (the loop's iterator is closed as the exception leaves it). So the metrics' ``evaluate``
    and anything after it see the model as it was.

    Args:
        sampler: the seeded batches.
        generators: the modules to switch (the EMA and/or the raw generator).
        bn_mode: ``'batch'`` or ``'standing'``.
        truncation: of the sampled z (standing statistics are estimated at it).
        standing_stats: ``num_batches``, ``batch_size``, ``seed`` of the standing passes.
    """

    def __init__(self, sampler: SeededSampler, generators: List[nn.Module], bn_mode: str,
                 truncation: Optional[float], standing_stats: dict):
        self.sampler, self.generators, self.bn_mode = sampler, generators, bn_mode
        self.truncation, self.standing_stats = truncation, dict(standing_stats)

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[dict]:
        with contextlib.ExitStack() as stack:
            for generator in self.generators:
                stack.enter_context(
                    sampling_bn(generator, self.bn_mode, self.truncation, **self.standing_stats))
            yield from self.sampler
