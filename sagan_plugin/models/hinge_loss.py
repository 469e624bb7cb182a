"""The hinge version of the adversarial loss (SAGAN §4, after Lim & Ye 2017 and Tran et al. 2017)."""
import torch
import torch.nn.functional as F
from torch import nn

from sagan_plugin.registry import MODELS


@MODELS.register_module()
class SAGANHingeLoss(nn.Module):
    r"""Hinge adversarial loss, both forms, written once.

    .. math::
        L_D = \mathbb{E}_{(x,y)\sim p_{data}}[\max(0, 1 - D(x,y))]
            + \mathbb{E}_{z\sim p_z, y\sim p_{data}}[\max(0, 1 + D(G(z),y))]

        L_G = -\mathbb{E}_{z\sim p_z, y\sim p_{data}}[D(G(z),y)]

    The call follows mmagic's ``GANLoss`` so mmagic models can use it too:
    ``loss(pred, target_is_real, is_disc)`` returns the term for one batch of raw scores ``pred`` (any shape,
    averaged over all elements); ``L_D`` is the sum of the real (``target_is_real=True``) and fake terms.

    Args:
        loss_weight: factor applied to every term; 1 in the paper.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, target_is_real: bool, is_disc: bool = False) -> torch.Tensor:
        pred = pred.float()  # under bf16/fp16 autocast the scores arrive in half precision; reduce in fp32
        if is_disc:
            margin = 1 - pred if target_is_real else 1 + pred
            loss = F.relu(margin).mean()
        elif target_is_real:
            loss = -pred.mean()
        else:
            raise ValueError('the generator form of the hinge loss is -E[D(G(z))]: call it with '
                             'target_is_real=True, is_disc=False')
        return loss * self.loss_weight
