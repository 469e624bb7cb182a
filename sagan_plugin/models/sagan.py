"""The SAGAN model: owns the update rule (D step, G step, EMA); the networks own only their forward."""
from typing import Dict, List, Optional, Union

import torch
from mmagic.models.base_models import BaseConditionalGAN
from mmagic.models.utils import get_valid_num_batches
from mmagic.structures import DataSample
from mmengine.optim import OptimWrapper
from torch import Tensor

from sagan_plugin.registry import MODELS
from .diff_augment import diff_augment, parse_policy
from .network import check_label_range


@MODELS.register_module()
class SAGAN(BaseConditionalGAN):
    """Self-Attention GAN (Zhang et al. 2019) trained with the hinge loss, TTUR and an optional generator EMA.

    One ``train_step`` (mmagic's :meth:`BaseGAN.train_step`) is one discriminator update; the generator is
    updated every ``discriminator_steps`` iterations (the paper: 1, thanks to TTUR), then the EMA.
    Validation and test sampling use the EMA generator when there is one (mmagic's ``sample_model='ema'``).

    Args:
        generator: config or module of the generator, e.g. ``dict(type='SAGANGenerator', ...)``.
        discriminator: config or module of the discriminator, e.g. ``dict(type='SAGANDiscriminator', ...)``.
        gan_loss: config of the adversarial loss; the paper's hinge loss by default.
        data_preprocessor: mmagic's ``DataPreprocessor`` config (uint8 -> [-1, 1]).
        discriminator_steps: D updates per G update (n_dis); 1 in the paper.
        generator_steps: G updates each time G is updated; 1 in the paper.
        noise_size: length of z; None takes the generator's.
        num_classes: number of classes; 0 or None for an unconditional GAN; None takes the networks'.
        ema_config: e.g. ``dict(type='DecayEMA', decay=0.9999, start_iter=20000)``; None for no EMA.
        channels_last: keep G, D and the real images in channels-last memory format (oneDNN's and cuDNN's
            preferred layout; same math). On by measurement (tools/benchmarks/bench_train.py): never slower
            on CPU, up to 1.28x faster in bf16 and 15-20% less step memory at 128x128.
        compile: ``torch.compile`` G and D in place (``nn.Module.compile``: state-dict keys unchanged); True,
            or a dict of ``torch.compile`` arguments such as ``dict(mode='max-autotune')``. Off by default: on
            CPU the first steps pay minutes of compilation. Not with a network's ``with_cp=True`` or
            ``recompute_activations=True``.
        diff_augment: DiffAugment (Zhao et al. 2020) on every image D sees, real and fake, in both steps,
            e.g. ``'color,translation,cutout'``; None (default): off. For data sets of a few thousand images.
    """

    def __init__(self,
                 generator: Union[dict, torch.nn.Module],
                 discriminator: Union[dict, torch.nn.Module],
                 gan_loss: dict = dict(type='SAGANHingeLoss'),
                 data_preprocessor: Optional[dict] = None,
                 discriminator_steps: int = 1,
                 generator_steps: int = 1,
                 noise_size: Optional[int] = None,
                 num_classes: Optional[int] = None,
                 ema_config: Optional[dict] = None,
                 channels_last: bool = True,
                 compile: Union[bool, dict] = False,
                 diff_augment: Optional[str] = None):
        steps = dict(discriminator_steps=discriminator_steps, generator_steps=generator_steps)
        for name, value in steps.items():  # mmagic fails on 0 only later (ZeroDivisionError, IndexError)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f'SAGAN: {name} must be an integer >= 1, got {value!r}')
        # Checked here and given to both networks, so mmagic's check finds them agreeing (public route).
        num_classes = valid_num_classes(num_classes, generator, discriminator)
        generator, discriminator = (
            dict(net, num_classes=num_classes) if isinstance(net, dict) else net
            for net in (generator, discriminator))
        super().__init__(
            generator=generator,
            discriminator=discriminator,
            data_preprocessor=data_preprocessor,
            generator_steps=generator_steps,
            discriminator_steps=discriminator_steps,
            noise_size=noise_size,
            num_classes=num_classes,
            ema_config=ema_config,
            loss_config=dict(gan_loss=gan_loss))
        self.num_classes = num_classes  # mmagic's check turns an agreed 0 into None when no network names it
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.diff_augment = parse_policy(diff_augment)
        self.to(memory_format=self.memory_format)
        if compile:
            for network in (self.generator, self.discriminator):
                for switch in ('with_cp', 'recompute_activations'):  # dynamo cannot trace a checkpoint's
                    if getattr(network, switch, False):  # context_fn (SN and BN state during the re-run)
                        raise ValueError(f'SAGAN: compile=True with {type(network).__name__}({switch}=True) '
                                         'is not supported by torch.compile; use one or the other')
            for network in (self.generator, self.discriminator):
                network.compile(**(compile if isinstance(compile, dict) else {}))

    def forward(self,
                inputs: Union[dict, Tensor],
                data_samples: Optional[DataSample] = None,
                mode: Optional[str] = None) -> List[DataSample]:
        """Sample images as mmagic's :meth:`BaseConditionalGAN.forward` (classes from ``data_samples``'
        ``gt_label``, else uniform), plus ``inputs['label'] = 'cycle'``: classes 0, 1, ..., K-1, 0, 1, ...,
        so that in a K-column grid (``n_row=K`` in mmagic's ``VisualizationHook``) column k is class k; and
        ``inputs['sample_kwargs']['label']``: one class id per sample (the evaluation's seeded sampler; a
        tensor directly in ``inputs`` would be taken for an image by mmagic's ``DataPreprocessor``)."""
        if isinstance(inputs, dict) and 'label' in (inputs.get('sample_kwargs') or {}):
            kwargs = dict(inputs['sample_kwargs'])
            data_samples = DataSample().set_gt_label(kwargs.pop('label'))
            inputs = dict(inputs, sample_kwargs=kwargs)
        if isinstance(inputs, dict) and 'label' in inputs:
            inputs = dict(inputs)
            label = inputs.pop('label')
            if label != 'cycle' or not self.num_classes:
                raise ValueError(f'label={label!r}: only "cycle" is known, and only for a conditional model; '
                                 'give explicit classes as gt_label in data_samples')
            data_samples = DataSample()
            num = get_valid_num_batches(inputs)
            data_samples.set_gt_label(torch.arange(num, device=self.device) % self.num_classes)
        return super().forward(inputs, data_samples, mode)

    def data_sample_to_label(self, data_sample: DataSample) -> Optional[Tensor]:
        """Real labels as a LongTensor [B] (mmagic stacks them as [B, 1]); None for an unconditional model.

        Where real labels enter, their range is checked once per batch; the networks check only shapes.
        """
        labels = super().data_sample_to_label(data_sample) if self.num_classes else None
        if labels is None:
            return None
        labels = labels.reshape(-1)
        check_label_range(labels, self.num_classes, 'class id')
        return labels

    def train_discriminator(self, inputs: dict, data_samples: DataSample,
                            optimizer_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """One D update on L_D: real and fake go through D in one batch (D has no BatchNorm)."""
        real_imgs = data_samples.gt_img.contiguous(memory_format=self.memory_format)
        real_labels = self.data_sample_to_label(data_samples)
        if self.num_classes and real_labels is None:
            raise KeyError('a class-conditional SAGAN needs "gt_label" in every data sample')
        num = real_imgs.shape[0]
        fake_labels = self.label_fn(num_batches=num)
        with torch.no_grad():
            fake_imgs = self.generator(self.noise_fn(num_batches=num), label=fake_labels)
        labels = None if real_labels is None else torch.cat([fake_labels, real_labels])
        both = diff_augment(torch.cat([fake_imgs, real_imgs]), self.diff_augment)
        pred_fake, pred_real = self.discriminator(both, label=labels).split(num)
        losses = dict(
            loss_disc_fake=self.gan_loss(pred_fake, target_is_real=False, is_disc=True),
            loss_disc_real=self.gan_loss(pred_real, target_is_real=True, is_disc=True))
        loss, log_vars = self.parse_losses(losses)
        optimizer_wrapper.update_params(loss)
        return log_vars

    def train_generator(self, inputs: dict, data_samples: DataSample,
                        optimizer_wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """One G update on L_G = -E[D(G(z), y)] with labels y drawn uniformly."""
        num = data_samples.gt_img.shape[0]
        fake_labels = self.label_fn(num_batches=num)
        fake_imgs = self.generator(self.noise_fn(num_batches=num), label=fake_labels)
        pred_fake = self.discriminator(diff_augment(fake_imgs, self.diff_augment), label=fake_labels)
        loss, log_vars = self.parse_losses(dict(loss_gen=self.gan_loss(pred_fake, target_is_real=True)))
        optimizer_wrapper.update_params(loss)
        return log_vars


def valid_num_classes(num_classes, generator, discriminator) -> int:
    """The model's number of classes, checked before mmagic's own ``BaseConditionalGAN`` check runs: every
    value that is set must agree (mmagic lets an explicit 0 in one network pass, and asserts), an error names
    each, and "no classes anywhere" means 0 (unconditional), not None."""
    values = dict(model=num_classes)
    for name, network in (('generator', generator), ('discriminator', discriminator)):
        values[name] = network.get('num_classes') if isinstance(network, dict) else getattr(
            network, 'num_classes', None)
    given = {name: value for name, value in values.items() if value is not None}
    for name, value in given.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f'SAGAN: {name} num_classes must be an integer >= 0, got {value!r}')
    if len(set(given.values())) > 1:
        found = ', '.join(f'{name}={value}' for name, value in given.items())
        raise ValueError(f'SAGAN: num_classes disagrees: {found}; set it once, on the model (the networks '
                         'inherit it)')
    return next(iter(given.values()), 0)
