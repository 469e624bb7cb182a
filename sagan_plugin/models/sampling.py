"""What every user of a trained SAGAN needs from it: its networks without a DDP wrapper, the generator to
sample from, drawn noise, checked class ids, and outputs as RGB images.

Shared by the attention figures (:mod:`sagan_plugin.visualization`), the training hooks
(:mod:`sagan_plugin.engine`) and the user API (:mod:`sagan_plugin.apis`), which is why it lives at the bottom.
"""
from typing import Optional, Tuple

import torch
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from .network import check_label_range


def unwrap(module: nn.Module) -> nn.Module:
    """``module`` without its DDP-style wrapper (MMEngine's ``is_model_wrapper``), else itself: the runner's
    model under ``MMDistributedDataParallel``, or a network under ``MMSeparateDistributedDataParallel``."""
    return module.module if is_model_wrapper(module) else module


def network(model: nn.Module, name: str) -> nn.Module:
    """``model.<name>`` without its DDP wrapper (MMSeparateDistributedDataParallel wraps G and D apart).

    Args:
        model: the SAGAN, as built or as a runner holds it during distributed training.
        name: ``'generator'`` or ``'discriminator'``.
    """
    return unwrap(getattr(unwrap(model), name))


def sampling_generator(model: nn.Module, use_ema: Optional[bool] = None) -> Tuple[nn.Module, bool]:
    """The generator to sample from and whether it is the EMA one.

    Args:
        model: a SAGAN (from ``init_model`` or a training run).
        use_ema: True requires the EMA generator, False takes the raw one, None the EMA one if there is one.
    """
    if use_ema and not model.with_ema_gen:
        raise ValueError('use_ema=True but the model has no EMA generator (the checkpoint held no '
                         'generator_ema.module.* weights)')
    ema = model.with_ema_gen if use_ema is None else use_ema
    return (model.generator_ema.module if ema else network(model, 'generator')), ema


def check_label_ids(model: nn.Module, labels: Optional[Tensor]) -> None:
    """Raise a ValueError naming the first class id in ``labels`` outside ``[0, model.num_classes)``.

    The sampling entry points call it once per call on the labels as given (before they go to the device),
    so the networks' forward stays free of host-device syncs and an id out of range is not an IndexError
    from deep inside an embedding. None (unconditional) and float class weights pass: the networks check
    their shapes.
    """
    if labels is not None and model.num_classes and not labels.is_floating_point():
        check_label_range(labels, model.num_classes, 'class id')


def truncated_noise(num: int, noise_size: int, truncation: Optional[float], rng: torch.Generator) -> Tensor:
    """num×noise_size standard normal z; with ``truncation`` T every |z_i| > T is redrawn until all are ≤ T
    (BigGAN's truncation trick, Brock et al. 2019, Sec. 3.1).

    Args:
        num: number of vectors.
        noise_size: length of each.
        truncation: T > 0, or None for no truncation.
        rng: the CPU generator every draw comes from.
    """
    return redraw_beyond(torch.randn(num, noise_size, generator=rng), truncation, rng)


def redraw_beyond(z: Tensor, truncation: Optional[float], rng: torch.Generator) -> Tensor:
    """``z`` (any shape) with every |z_i| > ``truncation`` redrawn from ``rng`` until none is; None: as is."""
    if truncation is None:
        return z
    if not truncation > 0:
        raise ValueError(f'truncation must be > 0, got {truncation}')
    outside = z.abs() > truncation
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=rng)
        outside = z.abs() > truncation
    return z


def to_rgb_uint8(model: nn.Module, images: Tensor) -> Tensor:
    """Generator output (or D input) B×C×H×W in the network's range → B×3×H×W uint8 RGB on the CPU.

    Undoes the config's normalisation with mmagic's ``DataPreprocessor.destruct`` (which gives BGR, as
    mmagic's own visualiser assumes), then flips to RGB as mmagic's ``Visualizer`` does.
    """
    images = model.data_preprocessor.destruct(images.detach().float()).round().to(torch.uint8).cpu()
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images[:, [2, 1, 0]]
