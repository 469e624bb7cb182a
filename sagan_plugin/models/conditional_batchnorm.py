"""Class-conditional BatchNorm (de Vries et al. 2017; Miyato & Koyama 2018), as used in SAGAN's G."""
from typing import Optional

import torch
from torch import Tensor, nn

from .spectral_norm import snembedding


def check_label(label: Optional[Tensor], num_classes: int, batch_size: int) -> Optional[Tensor]:
    """Validate class labels for a network with ``num_classes`` classes; returns None if unconditional.

    Unconditional networks ignore any label they are given, so datasets that carry labels still work.
    """
    if num_classes == 0:
        return None
    if label is None:
        raise ValueError(f'num_classes={num_classes}: a label tensor of shape ({batch_size},) is required')
    if label.shape != (batch_size, ) or label.dtype != torch.long:
        raise ValueError(f'expected label of shape ({batch_size},) and dtype torch.int64, '
                         f'got shape {tuple(label.shape)} and dtype {label.dtype}')
    bad = label[(label < 0) | (label >= num_classes)]
    if bad.numel():
        raise ValueError(f'label {bad[0].item()} is outside [0, {num_classes})')
    return label


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose affine gain and bias are looked up per class.

    ``y = BN(x) * (1 + gain[label]) + bias[label]`` with ``BN`` non-affine: the ``1 +`` keeps the block
    close to plain BN at initialisation whatever the embeddings start at. With ``num_classes=0`` this is
    an ordinary affine ``BatchNorm2d`` and ``label`` is ignored.

    Args:
        num_features: channels C of the input.
        num_classes: number of classes; 0 for the unconditional form.
        sn_embedding: spectral-normalise the gain/bias embeddings (SAGAN's "SN on every layer").
    """

    def __init__(self, num_features: int, num_classes: int = 0, sn_embedding: bool = True) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.bn = nn.BatchNorm2d(num_features, affine=num_classes == 0)
        if num_classes > 0:
            embedding = snembedding if sn_embedding else nn.Embedding
            self.gain = embedding(num_classes, num_features)
            self.bias = embedding(num_classes, num_features)

    def forward(self, x: Tensor, label: Optional[Tensor] = None) -> Tensor:
        """x: B×C×H×W; label: B class indices (required iff ``num_classes > 0``). Returns B×C×H×W."""
        out = self.bn(x)
        if self.num_classes == 0:
            return out
        if label is None:
            raise ValueError('ConditionalBatchNorm2d with num_classes > 0 needs a label')
        gain = 1 + self.gain(label)[:, :, None, None]
        bias = self.bias(label)[:, :, None, None]
        return torch.addcmul(bias, out, gain)
