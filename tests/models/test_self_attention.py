"""SelfAttentionBlock against the paper's Eqs. 1-3 written out independently here."""
import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from sagan_plugin.models.self_attention import SelfAttentionBlock
from sagan_plugin.registry import MODELS

VARIANTS = ('paper', 'pooled')
C, H, W = 32, 8, 6  # H != W catches height/width mix-ups; pooled keys: 4×3


def _x(batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, C, H, W, generator=torch.Generator().manual_seed(0))


def _block(variant: str, gamma: float = 0.7) -> SelfAttentionBlock:
    torch.manual_seed(0)
    block = SelfAttentionBlock(C, variant)
    with torch.no_grad():
        block.gamma.fill_(gamma)
    return block


def _reference(block: SelfAttentionBlock, x: torch.Tensor):
    """Eqs. 1-3 as explicit einsums over the block's spectral-normalised weights; returns (y, β[b, j, i])."""
    w = {name: getattr(block, name).weight[:, :, 0, 0] for name in ('query', 'key', 'value', 'out')}
    f = torch.einsum('dc,bchw->bdhw', w['key'], x)  # f(x) = W_f x
    g = torch.einsum('dc,bchw->bdhw', w['query'], x)  # g(x) = W_g x
    h = torch.einsum('dc,bchw->bdhw', w['value'], x)  # h(x) = W_h x
    if block.variant == 'pooled':
        f, h = F.max_pool2d(f, 2), F.max_pool2d(h, 2)
    f, g, h = f.flatten(2), g.flatten(2), h.flatten(2)
    s = torch.einsum('bdi,bdj->bij', f, g)  # s_ij = f(x_i)^T g(x_j)
    beta = torch.softmax(s, dim=1).transpose(1, 2)  # β_{j,i}: softmax over i, stored [b, j, i]
    o = torch.einsum('cd,bdj->bcj', w['out'], torch.einsum('bji,bdi->bdj', beta, h))  # Eq. 2
    return block.gamma * o.view_as(x) + x, beta  # Eq. 3


@pytest.mark.parametrize('variant', VARIANTS)
@pytest.mark.parametrize('return_attention', (False, True))
def test_gamma_zero_is_identity(variant, return_attention):
    block, x = SelfAttentionBlock(C, variant), _x()
    assert block.gamma.item() == 0
    out = block(x, return_attention=return_attention)
    assert torch.equal(out[0] if return_attention else out, x)


@pytest.mark.parametrize('variant', VARIANTS)
def test_matches_paper_equations(variant):
    block, x = _block(variant), _x()
    block.train()(x)  # one power iteration, then freeze u, v so the weights read below are the ones used
    block.eval()
    with torch.no_grad():
        y_fused = block(x)
        y_explicit, attn = block(x, return_attention=True)
        y_ref, beta_ref = _reference(block, x)
    n_keys = H * W // 4 if variant == 'pooled' else H * W
    assert attn.shape == (2, H * W, n_keys)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, H * W))
    torch.testing.assert_close(attn, beta_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(y_explicit, y_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(y_fused, y_explicit, atol=1e-5, rtol=0)
    assert not torch.allclose(y_ref, x, atol=1e-3)  # γ ≠ 0 really exercises the attention path


@pytest.mark.parametrize('variant', VARIANTS)
def test_fused_path_never_builds_the_map(variant):
    """Restricted to flash attention, SDPA raises instead of silently falling back to the math kernel."""
    block, x = _block(variant), _x().requires_grad_()
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        block(x).square().sum().backward()
    assert x.grad is not None


@pytest.mark.parametrize('variant', VARIANTS)
def test_gradient_reaches_gamma_at_init(variant):
    block = SelfAttentionBlock(C, variant)
    block(_x()).square().sum().backward()
    assert block.gamma.grad is not None and block.gamma.grad.abs().item() > 0


@pytest.mark.parametrize('sn', (True, False))
def test_spectral_norm_on_the_four_convs_never_on_gamma(sn):
    block = SelfAttentionBlock(C, 'pooled', sn=sn)
    convs = (block.query, block.key, block.value, block.out)
    assert all(hasattr(conv, 'weight_orig') == sn for conv in convs)
    assert [name for name, _ in block.named_parameters() if 'gamma' in name] == ['gamma']


@pytest.mark.parametrize('variant,k,value_channels', [('paper', 8, 4), ('paper', 4, 8), ('pooled', 8, 16)])
def test_channel_widths(variant, k, value_channels):
    block = SelfAttentionBlock(C, variant, k=k)
    assert block.query.out_channels == block.key.out_channels == C // k
    assert block.value.out_channels == block.out.in_channels == value_channels


@pytest.mark.parametrize('kwargs,match', [
    (dict(in_channels=32, variant='nonlocal'), r"one of \('paper', 'pooled'\), got 'nonlocal'"),
    (dict(in_channels=30, k=8), 'in_channels=30 must be divisible by k=8'),
    (dict(in_channels=9, k=9, variant='pooled'), 'and by 2'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SelfAttentionBlock(**kwargs)


@pytest.mark.parametrize('shape', [(2, 16, 8, 8), (2, 32, 64)])
def test_bad_input_shape(shape):
    with pytest.raises(ValueError, match=r'expected B×32×H×W input, got'):
        SelfAttentionBlock(C)(torch.randn(shape))


def test_registry_builds_ours_not_mmagics():
    block = MODELS.build(dict(type='SelfAttentionBlock', in_channels=C, variant='pooled'))
    assert type(block) is SelfAttentionBlock


@pytest.mark.parametrize('variant', VARIANTS)
def test_record_attention_collects_each_blocks_map_and_then_stops(variant):
    from torch import nn

    from sagan_plugin.models.self_attention import record_attention
    net = nn.Sequential(_block(variant), _block(variant)).eval()
    x = _x()
    with record_attention(net) as maps, torch.no_grad():
        y = net(x)
        net(x)
    assert sorted(maps) == ['0', '1'] and [len(v) for v in maps.values()] == [2, 2]
    _, beta = net[0](x, return_attention=True)
    torch.testing.assert_close(maps['0'][0], beta.detach())
    # the same output: fused vs explicit differ by rounding, which varies by CPU (2.4e-5 on an AMD EPYC)
    torch.testing.assert_close(y, net(x), rtol=1e-4, atol=1e-4)
    assert all(block.recorded is None for block in net)  # outside the block: fused path, nothing kept


@pytest.mark.parametrize('channels', (32, 256))  # paper variant: head width C/8 = 4 (fp32) and 32 (bf16)
def test_bf16_autocast_runs_narrow_heads_in_fp32_on_cpu(channels):
    """Same bf16 q, k, v either way; narrow heads get fp32 arithmetic (faster on CPU), wide ones bf16."""
    from sagan_plugin.models.self_attention import CPU_FP32_MAX_HEAD_DIM, _attend
    d = channels // 8
    q, k, v = (torch.randn(2, 48, d, generator=torch.Generator().manual_seed(i)).bfloat16() for i in range(3))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = _attend(q, k, v)
    exact = F.scaled_dot_product_attention(*(t[:, None].float() for t in (q, k, v)), scale=1.0)[:, 0]
    in_bf16 = F.scaled_dot_product_attention(*(t[:, None] for t in (q, k, v)), scale=1.0)[:, 0]
    assert out.dtype == torch.bfloat16 and not torch.equal(exact.bfloat16(), in_bf16)
    assert torch.equal(out, exact.bfloat16() if d <= CPU_FP32_MAX_HEAD_DIM else in_bf16)


@pytest.mark.parametrize('x_dtype,o_dtype', [(torch.float32, torch.float32), (torch.float32, torch.bfloat16),
                                             (torch.bfloat16, torch.bfloat16)])
@pytest.mark.parametrize('batch', (3, 16))  # fewer samples than slices of γ's gradient sum, and more
@pytest.mark.parametrize('gamma_trainable', (True, False))  # False: D frozen during the G step
def test_scaled_residual_matches_autograd(x_dtype, o_dtype, batch, gamma_trainable):
    """Eq. 3 through ``_ScaledResidual`` gives autograd's ``γ·o + x``: output dtype, value and gradients,
    channels-last maps included; like autograd it keeps o for backward only while γ trains."""
    from sagan_plugin.models.self_attention import _ScaledResidual
    gen = torch.Generator().manual_seed(batch)
    x, o, grad = (
        torch.randn(batch, 4, 5, 6, generator=gen).contiguous(memory_format=torch.channels_last)
        for _ in range(3))
    gamma = torch.tensor(0.3, requires_grad=gamma_trainable)
    leaves = [x.to(x_dtype).requires_grad_(), o.to(o_dtype).requires_grad_()] + [gamma] * gamma_trainable
    plain = gamma * leaves[1] + leaves[0]
    expected = torch.autograd.grad(plain, leaves, grad.to(plain.dtype))
    ours = _ScaledResidual.apply(leaves[0], leaves[1], gamma)
    assert ours.dtype == plain.dtype
    assert (ours.grad_fn.saved_tensors[0] is None) != gamma_trainable  # o kept only for γ's gradient
    tol = dict(atol=2e-2, rtol=2e-2) if torch.bfloat16 in (x_dtype, o_dtype) else dict(atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours, plain, **tol)
    for got, want in zip(torch.autograd.grad(ours, leaves, grad.to(ours.dtype)), expected):
        assert got.dtype == want.dtype
        torch.testing.assert_close(got, want, **tol)
