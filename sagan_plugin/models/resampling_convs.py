"""Resampling fused into the conv next to it: 3×3 conv + 2×2 average pooling, and nearest 2× upsampling + 3×3
conv, each as one stride-2 4×4 (transposed) conv with the 3×3 conv's parameters."""
import torch.nn.functional as F
from torch import Tensor, nn


def _sum_of_shifts(w: Tensor) -> Tensor:
    """The k×k kernel ``w`` placed at the four offsets (a, b) ∈ {0, 1}² of a (k+1)×(k+1) kernel, summed."""
    shifts = ((0, 1, 0, 1), (1, 0, 0, 1), (0, 1, 1, 0), (1, 0, 1, 0))  # F.pad's (left, right, top, bottom)
    return sum(F.pad(w, shift) for shift in shifts)


class PooledConv2d(nn.Conv2d):
    """``avg_pool2d(conv3×3(x), 2)`` computed as one stride-2 4×4 conv: 2.25× fewer FLOPs, same function.

    Both are linear, so their composition is a conv whose 4×4 kernel is the 3×3 kernel box-filtered:
    ``K[u, v] = ¼ Σ_{a,b∈{0,1}} W[u-a, v-b]``. The parameters (and, under SN, ``weight_orig``/``u``/``v``) are
    those of the 3×3 conv, so checkpoints and converters do not see the difference.
    x: B×C×H×W → B×C'×H/2×W/2.
    """

    def forward(self, x: Tensor) -> Tensor:
        kernel = _sum_of_shifts(self.weight) / 4
        return F.conv2d(x, kernel, self.bias, stride=2, padding=1)


class UpsampledConv2d(nn.Conv2d):
    """``conv3×3(upsample_nearest(x, 2))`` computed as one stride-2 4×4 transposed conv: 2.25× fewer FLOPs,
    the same function, and backward keeps x instead of the 4× larger upsampled map.

    Per axis, output 2i takes ``W0·x[i-1] + (W1+W2)·x[i]`` and 2i+1 takes ``(W0+W1)·x[i] + W2·x[i+1]``: the
    transposed conv's kernel is the flipped 3×3 kernel summed over the four 1-px shifts, in/out swapped. The
    parameters (and, under SN, ``weight_orig``/``u``/``v``) are those of the 3×3 conv, so checkpoints and
    converters do not see the difference. x: B×C×H×W → B×C'×2H×2W.
    """

    def forward(self, x: Tensor) -> Tensor:
        kernel = _sum_of_shifts(self.weight.flip(2, 3).transpose(0, 1))
        return F.conv_transpose2d(x, kernel, self.bias, stride=2, padding=1)
