"""The one place that decides spectral normalisation (Miyato et al. 2018) for SAGAN's G and D.

SAGAN (Zhang et al. 2019, Sec. 4) puts spectral norm on *every* layer of both networks. Building all
weight layers through these factories (BigGAN-PyTorch ``layers.py`` style, ``functools.partial``) makes
that true by construction instead of by review.

We use the hook-based :func:`torch.nn.utils.spectral_norm` with one power iteration per training
forward. Its state-dict keys (``weight_orig``, ``weight_u``, ``weight_v``) are the ones mmagic and
BigGAN-PyTorch checkpoints use, which keeps checkpoint converters a renaming exercise.
"""
from functools import partial
from typing import Callable, Dict

from torch import nn
from torch.nn.utils import spectral_norm

# Floor on the norms of u and v in the power iteration: 1e-8, as BigGAN-PyTorch's SA-GAN launch script.
SN_EPS = 1e-8

_SN_LAYERS = (nn.Conv2d, nn.Linear, nn.Embedding)


def _spectral_normed(layer_cls: type, *args, **kwargs) -> nn.Module:
    """Build ``layer_cls(*args, **kwargs)`` and register spectral norm on its ``weight``."""
    return spectral_norm(layer_cls(*args, **kwargs), n_power_iterations=1, eps=SN_EPS)


snconv2d = partial(_spectral_normed, nn.Conv2d)
snlinear = partial(_spectral_normed, nn.Linear)
snembedding = partial(_spectral_normed, nn.Embedding)
snconv3x3 = partial(snconv2d, kernel_size=3, padding=1)
snconv1x1 = partial(snconv2d, kernel_size=1, padding=0)

# Orthogonal is BigGAN's init; xavier (Glorot uniform) is what BigGAN-PyTorch's SA-GAN launch script uses.
_INITS: Dict[str, Callable] = {'ortho': nn.init.orthogonal_, 'xavier': nn.init.xavier_uniform_}


def initialise_weights(model: nn.Module, init_type: str = 'ortho') -> None:
    """Initialise every conv / linear / embedding weight of ``model`` in place.

    Under the SN hook the trainable tensor is ``weight_orig`` (``weight`` is recomputed from it on each
    forward), so that is the one initialised. Biases keep PyTorch's defaults, as in BigGAN-PyTorch.

    Args:
        model: the network whose layers are initialised.
        init_type: ``'ortho'`` (orthogonal) or ``'xavier'`` (Glorot uniform).
    """
    if init_type not in _INITS:
        raise ValueError(f'init_type must be one of {sorted(_INITS)}, got {init_type!r}')
    init = _INITS[init_type]
    for module in model.modules():
        if isinstance(module, _SN_LAYERS):
            init(getattr(module, 'weight_orig', module.weight))


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether ``module``'s weight is reparametrised by the SN hook (it then owns ``weight_orig``)."""
    return hasattr(module, 'weight_orig')
