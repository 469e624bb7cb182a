"""An EMA of the generator whose decay means what BigGAN users think it means."""
from typing import List, Optional

import torch
from mmagic.models.base_models import ExponentialMovingAverage
from torch import nn

from sagan_plugin.registry import MODELS
from .standing_stats import BATCH_NORMS


@MODELS.register_module()
class DecayEMA(ExponentialMovingAverage):
    """``ema = decay * ema + (1 - decay) * param`` after each generator update.

    mmagic's ``ExponentialMovingAverage`` takes ``momentum`` as the weight of the *new* value
    (``ema = (1 - m) * ema + m * x``); its BigGAN-schedule SAGAN config passes ``momentum=0.999``, which keeps
    only 0.1 % of the average — effectively no EMA. Here the argument is the weight of the *old* average,
    as in BigGAN-PyTorch (``ema_decay=0.9999``), and values that cannot be meant are rejected.

    BatchNorm statistics: ``bn_stats='copy'`` copies the generator's running statistics at every update
    (mmagic's ``update_buffers=False``), which describe the *raw* generator's last ~10 batches, not the
    averaged weights' activations; ``'average'`` averages them with the same decay as the weights, as
    BigGAN-PyTorch's ``utils.ema`` does with every state-dict entry. Spectral norm's ``u``/``v`` vectors are
    always copied: our SN reads them as unit vectors in eval mode, which an average of them is not.

    Args:
        model: the generator to average.
        decay: weight of the old average per update, in [0.5, 1); 0.9999 in BigGAN-PyTorch.
        interval: update every ``interval`` generator steps.
        device: where the averaged copy lives; None keeps the generator's device.
        update_buffers: average every buffer (mmagic's switch, SN vectors included); overrides ``bn_stats``.
        bn_stats: ``'copy'`` or ``'average'`` (see above).
    """

    def __init__(self,
                 model: nn.Module,
                 decay: float = 0.9999,
                 interval: int = 1,
                 device: Optional[torch.device] = None,
                 update_buffers: bool = False,
                 bn_stats: str = 'copy'):
        if bn_stats not in ('copy', 'average'):
            raise ValueError(f"bn_stats must be 'copy' or 'average', got {bn_stats!r}")
        if not 0.5 <= decay < 1.0:
            raise ValueError(f'decay is the weight of the old average and must be in [0.5, 1), got {decay}; '
                             'BigGAN uses 0.9999 (mmagic\'s "momentum" m corresponds to decay = 1 - m)')
        super().__init__(
            model, momentum=1.0 - decay, interval=interval, device=device, update_buffers=update_buffers)
        self.decay, self.bn_stats = decay, bn_stats

    def update_parameters(self, model: nn.Module) -> None:
        """mmagic's update (weights averaged, buffers copied); with ``bn_stats='average'`` the BatchNorm
        running statistics are then blended with their previous average instead of replaced."""
        average = self.bn_stats == 'average' and not self.update_buffers and self.steps > 0 \
            and self.steps % self.interval == 0
        previous = [b.clone() for b in _bn_statistics(self.module)] if average else []
        super().update_parameters(model)
        for old, new in zip(previous, _bn_statistics(self.module)):
            new.lerp_(old, self.decay)  # decay * old + (1 - decay) * copied

    def sync_buffers(self, model: nn.Module) -> None:
        """mmagic's train step copies every buffer again after ``update_parameters``; with
        ``bn_stats='average'`` the BatchNorm statistics keep their average and only the rest is copied."""
        if self.bn_stats == 'copy' or self.update_buffers:
            return super().sync_buffers(model)
        averaged = {id(t) for t in _bn_statistics(self.module)}
        for ours, theirs in zip(self.module.buffers(), model.buffers()):
            if id(ours) not in averaged:
                ours.data.copy_(theirs.data)


def _bn_statistics(module: nn.Module) -> List[torch.Tensor]:
    """Running means and variances of every BatchNorm in ``module``, in a fixed order."""
    norms = [m for m in module.modules() if isinstance(m, BATCH_NORMS) and m.track_running_stats]
    return [t for m in norms for t in (m.running_mean, m.running_var)]
