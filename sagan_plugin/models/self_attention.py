"""SAGAN's self-attention block (Zhang et al. 2019, arXiv 1805.08318, Sec. 3, Eqs. 1-3)."""
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sagan_plugin.registry import MODELS
from .spectral_norm import SN_EPS, SNLayers

VARIANTS = ('paper', 'pooled')
# torch's CPU flash attention is slower in bf16 than in fp32 at narrow heads: forward + backward in fp32 took
# 0.13-0.85x the bf16 time at head widths 2-16 in every case of tools/benchmarks/bench_attention_precision.py
# (64-4096 queries); at widths 64-128 it took 1.1-2.4x from 256 queries on. Under bf16 on a CPU, heads up to
# this width run in fp32. (Tiny maps, 64 positions, are faster in fp32 at any width, but cost little.)
CPU_FP32_MAX_HEAD_DIM = 16


def _attend(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """``softmax(q kᵀ) v`` row-wise, without materialising the N×M map.

    q: B×N×d_qk (queries), k: B×M×d_qk (keys), v: B×M×d_v (values) → B×N×d_v.
    """
    d_qk, d_v = q.shape[-1], v.shape[-1]
    # Fused SDPA kernels need equal q/k/v head dims (CPU flash) and a unit last stride; otherwise SDPA
    # silently falls back to the math kernel, which builds the whole map. Zero-padding to a common width
    # leaves every q·k and the kept value columns unchanged. The alternative, d_v/d_qk value heads sharing
    # q and k, has the same FLOPs; tools/benchmarks/bench_attention.py measured padding at ~1.45× less CPU
    # time at 64×64 (C=128) and ~5% less at 32×32 (C=256), peak memory within ±15%, so padding it is.
    d = max(d_qk, d_v)
    q, k, v = (F.pad(t, (0, d - t.shape[-1])).contiguous()[:, None] for t in (q, k, v))
    dtype = torch.get_autocast_dtype('cpu') if torch.is_autocast_enabled('cpu') else q.dtype
    if q.device.type == 'cpu' and dtype == torch.bfloat16 and d <= CPU_FP32_MAX_HEAD_DIM:
        with torch.autocast('cpu', enabled=False):  # the same bf16 inputs, fp32 arithmetic, bf16 out
            return _sdpa(*(t.to(dtype).float() for t in (q, k, v)))[..., :d_v].to(dtype)
    return _sdpa(q, k, v)[..., :d_v]


def _sdpa(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """B×1×N×d queries, B×1×M×d keys and values → B×N×d."""
    # scale=1.0: the paper's softmax (Eq. 1) has no 1/sqrt(d) temperature.
    return F.scaled_dot_product_attention(q, k, v, scale=1.0)[:, 0]


class _ScaledResidual(torch.autograd.Function):
    """``y = x + γ·o`` (Eq. 3) without B×C×H×W temporaries beside y and the gradients.

    Autograd's ``γ * o + x`` keeps γ·o and y alive together in forward, and builds ``grad ⊙ o`` whole in
    backward for γ's gradient: at 64×64 those maps set the block's peak live memory
    (tools/benchmarks/bench_attention.py). Here forward is one ``addcmul`` and γ's gradient is summed a
    slice of the batch at a time, in fp32. x, o: B×C×H×W; γ: a 0-dim tensor.
    """

    @staticmethod
    def forward(ctx, x: Tensor, o: Tensor, gamma: Tensor) -> Tensor:
        ctx.save_for_backward(o if ctx.needs_input_grad[2] else None, gamma)  # o only for γ's gradient
        return torch.addcmul(x, o, gamma)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
        # Autograd casts each gradient to its input's dtype (x, o and γ may differ under autocast).
        o, gamma = ctx.saved_tensors
        _, o_needs_grad, gamma_needs_grad = ctx.needs_input_grad  # D's γ needs none in the G step (D frozen)
        chunk = max(1, grad.shape[0] // 8)  # temporaries of 1/8 of the map
        grad_gamma = sum((g * v).sum(dtype=torch.float32)
                         for g, v in zip(grad.split(chunk), o.split(chunk))) if gamma_needs_grad else None
        return grad, grad * gamma if o_needs_grad else None, grad_gamma


@MODELS.register_module()
class SelfAttentionBlock(nn.Module):
    """Self-attention over all positions of a feature map, output ``y = γ·o + x``.

    With x ∈ R^{C×N}, N = H·W, 1×1 convs f, g, h: C → C̄ (C̄ = C/k) and v: C̄ → C:

    - Eq. 1: ``s_ij = f(x_i)ᵀ g(x_j)``, ``β_{j,i} = softmax_i(s_ij)`` (no 1/√d scaling);
    - Eq. 2: ``o_j = v(Σ_i β_{j,i} h(x_i))``;
    - Eq. 3: ``y_j = γ·o_j + x_j``, γ a learnable scalar initialised to 0, so the block starts as identity.

    So g gives the queries (position j attends), f the keys and h the values. ``variant='pooled'`` is the
    released TF code's form (also BigGAN, StudioGAN, mmagic): θ (query) and φ (key) at C/k, value at C/2,
    φ and value 2×2 max-pooled (N/4 keys), output conv C/2 → C.

    Args:
        in_channels: channels C of the input feature map.
        variant: ``'paper'`` (Eqs. 1-3 as written) or ``'pooled'`` (official code).
        k: channel reduction C/C̄ for queries and keys (the paper's default 8).
        sn: spectral-normalise the four 1×1 convs (γ is never SN'd).
        sn_eps: ε of their power iteration (see :class:`SNLayers`).
    """

    def __init__(self,
                 in_channels: int,
                 variant: str = 'paper',
                 k: int = 8,
                 sn: bool = True,
                 sn_eps: float = SN_EPS) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f'variant must be one of {VARIANTS}, got {variant!r}')
        if in_channels % k or (variant == 'pooled' and in_channels % 2):
            raise ValueError(f'in_channels={in_channels} must be divisible by k={k}' +
                             (' and by 2 (pooled variant)' if variant == 'pooled' else ''))
        layers = SNLayers(eps=sn_eps, enabled=sn)
        qk_channels = in_channels // k
        v_channels = qk_channels if variant == 'paper' else in_channels // 2
        self.in_channels, self.variant = in_channels, variant
        self.query = layers.conv(in_channels, qk_channels, 1, bias=False)  # paper g, official θ
        self.key = layers.conv(in_channels, qk_channels, 1, bias=False)  # paper f, official φ
        self.value = layers.conv(in_channels, v_channels, 1, bias=False)  # paper h, official g
        self.out = layers.conv(v_channels, in_channels, 1, bias=False)  # paper v, official o
        self.gamma = nn.Parameter(torch.zeros(()))
        self.recorded: Optional[List[Tensor]] = None  # set by record_attention(): maps are appended here

    def forward(self, x: Tensor, return_attention: bool = False) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        """x: B×C×H×W → y: B×C×H×W (Eq. 3).

        With ``return_attention`` also returns β (Eq. 1) as B×N×N_keys: row j holds the weights position j
        gives every key position i (rows sum to 1); N_keys = N, or N/4 for the pooled variant. Only then is
        the map built; otherwise fused attention computes Eq. 2 directly.
        """
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'expected B×{self.in_channels}×H×W input, got {tuple(x.shape)}')
        b, _, h, w = x.shape
        keys, values = self.key(x), self.value(x)
        if self.variant == 'pooled':
            keys, values = F.max_pool2d(keys, 2), F.max_pool2d(values, 2)
        q, k, v = (t.flatten(2).transpose(1, 2) for t in (self.query(x), keys, values))  # B×positions×d
        if return_attention or self.recorded is not None:
            attn = torch.softmax(q @ k.transpose(1, 2), dim=-1)  # β_{j,i}, Eq. 1
            o = attn @ v
        else:
            o = _attend(q, k, v)
        o = self.out(o.transpose(1, 2).reshape(b, -1, h, w))  # Eq. 2
        y = _ScaledResidual.apply(x, o, self.gamma)  # Eq. 3
        if self.recorded is not None:
            self.recorded.append(attn.detach())
        return (y, attn) if return_attention else y


@contextmanager
def record_attention(model: nn.Module) -> Iterator[Dict[str, List[Tensor]]]:
    """Within the block, every :class:`SelfAttentionBlock` of ``model`` appends its β (B×N×N_keys, see
    :meth:`SelfAttentionBlock.forward`) to ``maps[name]`` (its module name, e.g. ``'attention.64'``) on each
    forward; outside it the fused path runs again.

        with record_attention(generator) as maps:
            generator(z, label)
        beta = maps['attention.64'][0]
    """
    blocks = {name: m for name, m in model.named_modules() if isinstance(m, SelfAttentionBlock)}
    maps: Dict[str, List[Tensor]] = {name: [] for name in blocks}
    for name, block in blocks.items():
        block.recorded = maps[name]
    try:
        yield maps
    finally:
        for block in blocks.values():
            block.recorded = None
