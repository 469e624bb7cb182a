"""Our SN hook (Float32SpectralNorm) against torch's own: same σ, u, v, outputs and gradients."""
import copy

import pytest
import torch
from torch import nn
from torch.nn.utils.spectral_norm import SpectralNorm

from sagan_plugin.models.resampling_convs import PooledConv2d
from sagan_plugin.models.spectral_norm import SNLayers
from sagan_plugin.models.spectral_norm_hook import Float32SpectralNorm

SN = SNLayers(eps=1e-8)
CL = torch.channels_last
LAYERS = {  # name -> (our SN'd layer, an input for it)
    'conv3x3': (lambda: SN.conv(6, 5, 3), lambda: torch.randn(4, 6, 8, 8)),
    'conv1x1': (lambda: SN.conv(6, 5, 1, bias=False), lambda: torch.randn(4, 6, 8, 8)),
    'pooled_conv': (lambda: SN.pooled_conv(6, 5), lambda: torch.randn(4, 6, 8, 8)),
    'linear': (lambda: SN.linear(7, 3), lambda: torch.randn(4, 7)),
    'embedding': (lambda: SN.embedding(10, 6), lambda: torch.tensor([0, 3, 9, 3])),
    # SAGAN(channels_last=True) puts weights and activations in channels-last memory format
    'conv3x3_channels_last': (lambda: SN.conv(6, 5, 3).to(memory_format=CL),
                              lambda: torch.randn(4, 6, 8, 8).contiguous(memory_format=CL)),
    'pooled_conv_channels_last': (lambda: SN.pooled_conv(6, 5).to(memory_format=CL),
                                  lambda: torch.randn(4, 6, 8, 8).contiguous(memory_format=CL)),
}


def torch_twin(ours: nn.Module) -> nn.Module:
    """The same layer with torch's stock SN hook (same weight_orig, u, v)."""
    twin = copy.deepcopy(ours)
    for hook in twin._forward_pre_hooks.values():
        if isinstance(hook, Float32SpectralNorm):
            hook.__class__ = SpectralNorm
    return twin


def test_layers_use_our_hook():
    layer = SN.conv(3, 3, 3)
    assert any(type(h) is Float32SpectralNorm for h in layer._forward_pre_hooks.values())


@pytest.mark.parametrize('name', sorted(LAYERS))
def test_two_forwards_then_backward_equal_torch(name):
    """The GAN pattern (two training forwards, one backward): outputs, u, v and every gradient equal."""
    torch.manual_seed(0)
    make_layer, make_input = LAYERS[name]
    ours = make_layer()
    theirs = torch_twin(ours)
    x1, x2 = make_input(), make_input()
    if x1.is_floating_point():
        x1.requires_grad_(True)
    outs = []
    for layer in (ours, theirs):
        y = layer(x1).square().sum() + 2 * layer(x2).sum()
        y.backward()
        outs.append((y, layer.weight_orig.grad, layer.weight_u, layer.weight_v))
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)  # float32 rounding, other op order
    if getattr(ours, 'bias', None) is not None:
        torch.testing.assert_close(ours.bias.grad, theirs.bias.grad)
    # the gradient comes in the weight's own layout: no transposing copy (autograd's into .grad is one)
    grad, = torch.autograd.grad(ours(x1).square().sum(), ours.weight_orig)  # as computed, before .grad's copy
    assert grad.stride() == ours.weight_orig.stride()


def test_eval_forward_and_gradient_equal_torch():
    """Evaluation (no power iteration) gives torch's weight and gradient too."""
    torch.manual_seed(1)
    ours = SN.conv(4, 8, 3)
    with torch.no_grad():
        ours(torch.randn(2, 4, 5, 5))  # one training forward moves u and v away from their init
    theirs = torch_twin(ours)
    x = torch.randn(2, 4, 5, 5)
    for layer in (ours, theirs):
        layer.eval()
        layer(x).pow(3).sum().backward()
    torch.testing.assert_close(ours.weight_orig.grad, theirs.weight_orig.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(ours(x), theirs(x))


def test_gradient_penalty_through_the_hook_equals_torch():
    """A penalty on ∂D/∂x (create_graph=True, as R1 or WGAN-GP would add) differentiates through our hook."""
    torch.manual_seed(2)
    ours = nn.Sequential(SN.conv(3, 4, 3), nn.Softplus(), SN.conv(4, 1, 3))
    theirs = copy.deepcopy(ours)
    for i in (0, 2):
        theirs[i] = torch_twin(ours[i])
    grads = []
    for net in (ours, theirs):
        x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(3), requires_grad=True)
        (dx, ) = torch.autograd.grad(net(x).sum(), x, create_graph=True)
        dx.square().sum().backward()
        grads.append(net[0].weight_orig.grad)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6)


def test_sigma_in_float32_under_bf16_autocast():
    """Under bf16 autocast the normalised weight is float32 (σ in float32); the conv then runs in bf16."""
    layer = SN.conv(4, 4, 3)
    weights = []
    layer.register_forward_pre_hook(lambda m, inputs: weights.append(m.weight))  # runs after the SN hook
    with torch.autocast('cpu', dtype=torch.bfloat16):
        y = layer(torch.randn(1, 4, 5, 5))
    assert weights[0].dtype == torch.float32 and y.dtype == torch.bfloat16
    assert isinstance(SN.pooled_conv(2, 2), PooledConv2d)
