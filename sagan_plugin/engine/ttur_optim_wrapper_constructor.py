"""TTUR (Heusel et al. 2017) as SAGAN uses it: one optimizer per network, D's lr 4x G's."""
import copy
from numbers import Real
from typing import Optional

from mmagic.engine import MultiOptimWrapperConstructor
from mmengine.optim import OptimWrapperDict
from torch import nn

from sagan_plugin.models.sampling import unwrap
from sagan_plugin.registry import OPTIM_WRAPPER_CONSTRUCTORS

NETWORKS = ('generator', 'discriminator')
PAPER_LR = dict(generator=1e-4, discriminator=4e-4)  # SAGAN §5: G 1e-4, D 4e-4 instead of n_dis > 1
PAPER_BETAS = (0.0, 0.9)  # SAGAN §5: Adam beta1 = 0, beta2 = 0.9 (the public codes use 0.999)
SHORT_KEYS = ('generator_lr', 'discriminator_lr', 'betas', 'fused')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TTUROptimWrapperConstructor(MultiOptimWrapperConstructor):
    """Builds ``OptimWrapperDict(generator=..., discriminator=...)``; the paper's Adam pair by default.

    Two forms; a config uses one of them. The short form (every key optional)::

        optim_wrapper = dict(
            constructor='TTUROptimWrapperConstructor',
            generator_lr=1e-4, discriminator_lr=4e-4, betas=(0.0, 0.9),  # ChannelsLastAdam for each network
            fused=True,  # torch's one-kernel Adam (CPU and CUDA); the same numbers, ~6x faster step
            type='OptimWrapper', accumulative_counts=1)  # other keys go to both optimizer wrappers

    mmagic's form (any optimizer; a network left out gets the paper's Adam)::

        optim_wrapper = dict(
            constructor='TTUROptimWrapperConstructor',
            generator=dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.0, 0.9))),
            discriminator=dict(type='AmpOptimWrapper', optimizer=dict(type='AdamW', lr=4e-4), clip_grad=...))

    In both forms the keys beside the two networks (``type``, ``accumulative_counts``, ``clip_grad``,
    ``loss_scale``, ``paramwise_cfg``, ...) apply to both networks, a network's own keys win; so
    ``tools/train.py --amp`` (top-level ``type='AmpOptimWrapper'``) works with either form. Any registered
    ``OptimWrapper`` type may be named. Building is mmagic's ``MultiOptimWrapperConstructor`` (one MMEngine
    ``DefaultOptimWrapperConstructor`` per network); this class only writes its config.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        """
        Args:
            optim_wrapper_cfg: ``optim_wrapper`` of a runner config without ``constructor``.
            paramwise_cfg: MMEngine's parameter-wise settings (``optim_wrapper.paramwise_cfg``), applied to
                both networks unless a network sets its own.
        """
        shared = copy.deepcopy(dict(optim_wrapper_cfg))
        short = {key: shared.pop(key) for key in SHORT_KEYS if key in shared}
        given = {name: shared.pop(name) for name in NETWORKS if name in shared}
        if short and given:
            raise ValueError(
                f'optim_wrapper mixes the short form ({", ".join(short)}) with mmagic\'s form '
                f'({", ".join(given)}=dict(optimizer=...)); use one. A config that inherits '
                '_base_/schedules/ttur.py and writes mmagic\'s form needs _delete_=True in its optim_wrapper')
        if 'optimizer' in shared:
            raise KeyError(
                'optim_wrapper.optimizer: TTUROptimWrapperConstructor builds one optimizer per network; '
                'write generator=dict(optimizer=...) and discriminator=dict(optimizer=...), or set '
                'generator_lr / discriminator_lr / betas')
        if paramwise_cfg is not None:
            shared['paramwise_cfg'] = paramwise_cfg
        per_network = {name: _network_cfg(name, given.get(name, {}), shared, short) for name in NETWORKS}
        super().__init__(per_network)

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        """One optimizer wrapper per network of ``model`` (DDP-style wrappers are looked through).

        Args:
            model: a GAN with ``generator`` and ``discriminator`` submodules.
        """
        inner = unwrap(model)
        for name in NETWORKS:
            if not isinstance(getattr(inner, name, None), nn.Module):
                raise AttributeError(f'{type(inner).__name__} has no "{name}" module to optimise')
        return super().__call__(model)


def _network_cfg(name: str, own: dict, shared: dict, short: dict) -> dict:
    """The optimizer-wrapper config of one network, in the form MMEngine's constructor takes.

    Args:
        name: ``'generator'`` or ``'discriminator'``.
        own: the network's dict in mmagic's form (empty in the short form or when it is left out).
        shared: keys that apply to both networks.
        short: the short form's keys that were given.
    """
    where = f'optim_wrapper.{name}'
    if not isinstance(own, dict):
        raise TypeError(f'{where} must be a dict like dict(optimizer=dict(type="Adam", lr=...)), got {own!r}')
    cfg = {**shared, **copy.deepcopy(dict(own))}
    betas_key = f'{where}.optimizer.betas'
    if 'optimizer' not in cfg:  # the short form, or a network left out of mmagic's form: Adam
        lr = _number(f'optim_wrapper.{name}_lr', short.get(f'{name}_lr', PAPER_LR[name]))
        fused = short.get('fused', True)
        if not isinstance(fused, bool):
            raise ValueError(f'optim_wrapper.fused must be True or False, got {fused!r}')
        cfg['optimizer'] = dict(
            type='ChannelsLastAdam',  # torch's Adam without its copies of channels-last gradients
            lr=lr,
            betas=short.get('betas', PAPER_BETAS),
            fused=fused)
        betas_key = 'optim_wrapper.betas'
    optimizer = cfg['optimizer'] = dict(cfg['optimizer'])
    if 'type' not in optimizer:
        raise KeyError(f'{where}.optimizer needs a "type" (e.g. "Adam"), got {optimizer}')
    if 'betas' in optimizer:  # Adam, AdamW, NAdam, RAdam, ...
        optimizer['betas'] = _betas(betas_key, optimizer['betas'])
    return cfg


def _number(key: str, value) -> float:
    """``value`` as a float; an error naming ``key`` unless it is a real number >= 0.

    Args:
        key: the config key, for the error message.
        value: the learning rate as written in the config.
    """
    if isinstance(value, bool) or not isinstance(value, Real) or value < 0:
        raise ValueError(f'{key} must be a number >= 0, got {value!r}')
    return float(value)


def _betas(key: str, betas) -> tuple:
    """Adam-style ``betas`` as two floats: torch 2.13 rejects ``(0, 0.9)`` (an int with a float).

    Args:
        key: the config key, for the error message.
        betas: the value as written in the config.
    """
    valid = (
        isinstance(betas, (tuple, list)) and len(betas) == 2
        and all(isinstance(b, Real) and not isinstance(b, bool) and 0.0 <= b < 1.0 for b in betas))
    if not valid:
        raise ValueError(f'{key} must be two numbers in [0, 1), got {betas!r}')
    return tuple(float(b) for b in betas)
