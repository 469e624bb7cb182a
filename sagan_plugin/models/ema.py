"""An EMA of the generator whose decay means what BigGAN users think it means."""
from typing import Optional

import torch
from mmagic.models.base_models import ExponentialMovingAverage
from torch import nn

from sagan_plugin.registry import MODELS


@MODELS.register_module()
class DecayEMA(ExponentialMovingAverage):
    """``ema = decay * ema + (1 - decay) * param`` after each generator update.

    mmagic's ``ExponentialMovingAverage`` takes ``momentum`` as the weight of the *new* value
    (``ema = (1 - m) * ema + m * x``); its BigGAN-schedule SAGAN config passes ``momentum=0.999``, which keeps
    only 0.1 % of the average — effectively no EMA. Here the argument is the weight of the *old* average,
    as in BigGAN-PyTorch (``ema_decay=0.9999``), and values that cannot be meant are rejected.

    Buffers (BatchNorm statistics, spectral-norm ``u``/``v`` vectors) are copied from the generator rather
    than averaged (``update_buffers=False``), as BigGAN does.

    Args:
        model: the generator to average.
        decay: weight of the old average per update, in [0.5, 1); 0.9999 in BigGAN-PyTorch.
        interval: update every ``interval`` generator steps.
        device: where the averaged copy lives; None keeps the generator's device.
        update_buffers: average buffers too instead of copying them.
    """

    def __init__(self,
                 model: nn.Module,
                 decay: float = 0.9999,
                 interval: int = 1,
                 device: Optional[torch.device] = None,
                 update_buffers: bool = False):
        if not 0.5 <= decay < 1.0:
            raise ValueError(f'decay is the weight of the old average and must be in [0.5, 1), got {decay}; '
                             'BigGAN uses 0.9999 (mmagic\'s "momentum" m corresponds to decay = 1 - m)')
        super().__init__(
            model, momentum=1.0 - decay, interval=interval, device=device, update_buffers=update_buffers)
        self.decay = decay
