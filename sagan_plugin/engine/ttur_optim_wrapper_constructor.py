"""TTUR (Heusel et al. 2017) as SAGAN uses it: one Adam per network, D's lr 4x G's."""
from typing import Optional, Sequence

from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from sagan_plugin.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class TTUROptimWrapperConstructor:
    """Builds ``OptimWrapperDict(generator=..., discriminator=...)`` from one config.

    Config (``optim_wrapper`` in a runner config; every key but ``constructor`` is optional)::

        optim_wrapper = dict(
            constructor='TTUROptimWrapperConstructor',
            generator_lr=1e-4,        # SAGAN §5: G lr 1e-4
            discriminator_lr=4e-4,    # SAGAN §5: D lr 4e-4 instead of several D steps per G step
            betas=(0.0, 0.9),         # SAGAN §5: Adam beta1=0, beta2=0.9 (public codes use 0.999)
            type='OptimWrapper',      # or 'AmpOptimWrapper' (+ its loss_scale/dtype keys)
            accumulative_counts=1)    # any other key goes to both optimizer wrappers

    ``paramwise_cfg`` (MMEngine's) applies to both networks.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        cfg = dict(optim_wrapper_cfg)
        self.lrs = dict(
            generator=float(cfg.pop('generator_lr', 1e-4)),
            discriminator=float(cfg.pop('discriminator_lr', 4e-4)))
        betas: Sequence[float] = cfg.pop('betas', (0.0, 0.9))
        if len(betas) != 2 or not all(0.0 <= float(b) < 1.0 for b in betas):
            raise ValueError(f'betas must be two numbers in [0, 1), got {betas}')
        # torch >= 2.13 rejects (0, 0.9) (an int and a float): make both floats.
        self.betas = tuple(float(b) for b in betas)
        if 'optimizer' in cfg:
            raise KeyError('TTUROptimWrapperConstructor builds the two Adam optimizers itself: set '
                           'generator_lr / discriminator_lr / betas instead of "optimizer"')
        cfg.setdefault('type', 'OptimWrapper')
        self.wrapper_cfg = cfg
        self.paramwise_cfg = paramwise_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = getattr(model, 'module', model)  # unwrap DDP-style wrappers
        wrappers = {}
        for name, lr in self.lrs.items():
            network = getattr(model, name, None)
            if not isinstance(network, nn.Module):
                raise AttributeError(f'{type(model).__name__} has no "{name}" module to optimise')
            cfg = dict(self.wrapper_cfg, optimizer=dict(type='Adam', lr=lr, betas=self.betas))
            wrappers[name] = DefaultOptimWrapperConstructor(cfg, self.paramwise_cfg)(network)
        return OptimWrapperDict(**wrappers)
