"""The SN factory, conditional BN and the residual blocks, against their formulas written out here."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sagan_plugin.models.layers import ConditionalBatchNorm2d, DownBlock, UpBlock
from sagan_plugin.models.spectral_norm import SNLayers, has_spectral_norm

NUM_CLASSES = 3
LABEL = torch.tensor([0, 2])
SN = SNLayers()
SN_LAYERS = {
    'conv': (lambda: SN.conv(4, 6, 3), lambda m: m(torch.randn(2, 4, 5, 5))),
    'linear': (lambda: SN.linear(7, 5), lambda m: m(torch.randn(2, 7))),
    'embedding': (lambda: SN.embedding(5, 7), lambda m: m(torch.tensor([1, 4]))),
}


def _norm(num_classes=NUM_CLASSES):
    return lambda channels: ConditionalBatchNorm2d(channels, num_classes)


@pytest.mark.parametrize('name', SN_LAYERS)
def test_factory_layer_has_unit_spectral_norm_after_power_iterations(name):
    build, run = SN_LAYERS[name]
    torch.manual_seed(0)
    layer = build()
    nn.init.normal_(layer.weight_orig, std=3.0)
    assert sorted(k for k in layer.state_dict()
                  if k.startswith('weight')) == ['weight_orig', 'weight_u', 'weight_v']
    for _ in range(30):  # a random Gaussian matrix: the power iteration needs a few steps
        run(layer.train())
    assert layer.weight is None  # a training forward does not keep W/σ on the layer
    run(layer.eval())  # an eval forward sets it from the same u, v (no power iteration) and keeps it
    assert torch.linalg.matrix_norm(layer.weight.detach().flatten(1), 2).item() == pytest.approx(1, abs=1e-2)


def test_conditional_bn_is_plain_affine_bn_when_unconditional():
    torch.manual_seed(0)
    cbn, bn = ConditionalBatchNorm2d(4), nn.BatchNorm2d(4)
    with torch.no_grad():
        cbn.bn.weight.uniform_(), cbn.bn.bias.uniform_()
    bn.load_state_dict(cbn.bn.state_dict())
    x = torch.randn(2, 4, 3, 3)
    assert torch.equal(cbn(x, LABEL), bn(x))


@pytest.mark.parametrize('sn', (SN, None))
def test_conditional_bn_applies_per_class_gain_and_bias(sn):
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(4, NUM_CLASSES, sn, eps=1e-4).eval()
    with torch.no_grad():
        cbn.bn.running_mean.uniform_(), cbn.bn.running_var.uniform_(1, 2)
    x = torch.randn(2, 4, 3, 3)
    out = cbn(x, LABEL)
    assert cbn.bn.affine is False and has_spectral_norm(cbn.gain) == (sn is not None)
    mean, var = cbn.bn.running_mean[:, None, None], cbn.bn.running_var[:, None, None]
    normed = (x - mean) / (var + 1e-4).sqrt()
    gain, bias = cbn.gain.weight[LABEL], cbn.bias.weight[LABEL]
    torch.testing.assert_close(out, normed * (1 + gain[:, :, None, None]) + bias[:, :, None, None])
    assert not torch.allclose(out[0], cbn(x, torch.tensor([1, 2]))[0])


def test_conditional_bn_keeps_the_autocast_dtype():
    """Under bf16 autocast BN gives bf16; an fp32 class gain would promote the whole map to fp32, for the next
    conv to cast back (a full-size copy each way) and for backward to keep at twice the size."""
    cbn = ConditionalBatchNorm2d(4, NUM_CLASSES)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        x = F.conv2d(torch.randn(2, 4, 3, 3), torch.randn(4, 4, 1, 1))
        assert cbn(x, LABEL).dtype == torch.bfloat16
    assert cbn(x.float(), LABEL).dtype == torch.float32


@pytest.mark.parametrize('num_classes', (0, NUM_CLASSES))
def test_up_block_matches_upsample_then_conv_shortcut(num_classes):
    """Same function as the brief's ordering: upsample first, then 1×1-conv the shortcut."""
    torch.manual_seed(0)
    block = UpBlock(4, 6, SN, _norm(num_classes)).eval()
    label = LABEL if num_classes else None
    x = torch.randn(2, 4, 5, 5)
    y = block(x, label)
    assert y.shape == (2, 6, 10, 10)
    up = F.interpolate(x, scale_factor=2, mode='nearest')
    conv1 = block.conv1  # the 3×3 conv on the upsampled map (it runs as one transposed conv)
    h = F.conv2d(
        F.interpolate(F.relu(block.bn1(x, label)), scale_factor=2), conv1.weight, conv1.bias, padding=1)
    h = block.conv2(F.relu(block.bn2(h, label)))
    # |y| ~ 1e3 (SN at eval with the initial u): float rounding of the fused conv is ~1e-4
    torch.testing.assert_close(y, h + block.shortcut(up), atol=3e-4, rtol=1e-5)


def test_upsampled_conv_is_the_same_function_as_upsample_then_conv():
    """The one-conv form (stride-2 4×4 transposed conv) equals upsample → conv3×3, values and grads."""
    torch.manual_seed(0)
    fused = UpBlock(4, 6, SN, _norm(NUM_CLASSES), upsampled_conv=True)
    plain = UpBlock(4, 6, SN, _norm(NUM_CLASSES), upsampled_conv=False)
    plain.load_state_dict(fused.state_dict())
    assert fused.state_dict().keys() == plain.state_dict().keys()  # checkpoints do not see the difference
    x = torch.randn(2, 4, 5, 7)
    out_fused, out_plain = fused(x, LABEL), plain(x, LABEL)  # one power iteration each, from the same u
    assert out_fused.shape == (2, 6, 10, 14)
    torch.testing.assert_close(out_fused, out_plain, atol=1e-5, rtol=0)
    out_fused.square().sum().backward(), out_plain.square().sum().backward()
    torch.testing.assert_close(
        fused.conv1.weight_orig.grad, plain.conv1.weight_orig.grad, atol=1e-4, rtol=1e-4)
    assert not isinstance(UpBlock(4, 6, SN, _norm(0), upsample=False).conv1, type(fused.conv1))


@pytest.mark.parametrize('preactivation', (True, False))
def test_down_block_matches_biggan_ordering(preactivation):
    """BigGAN's DBlock: shortcut conv-then-pool after pre-activation, pool-then-conv in the first block."""
    torch.manual_seed(0)
    block = DownBlock(4, 6, SN, downsample=True, preactivation=preactivation, pooled_conv=False).eval()
    x = torch.randn(2, 4, 8, 8)
    h = F.relu(x) if preactivation else x
    h = F.avg_pool2d(block.conv2(F.relu(block.conv1(h))), 2)
    sc = F.avg_pool2d(block.shortcut(x), 2) if preactivation else block.shortcut(F.avg_pool2d(x, 2))
    torch.testing.assert_close(block(x), h + sc, atol=1e-5, rtol=0)


@pytest.mark.parametrize('c_out,downsample,identity', [(4, False, True), (6, False, False), (4, True, False)])
def test_down_block_shortcut_is_learnable_only_when_needed(c_out, downsample, identity):
    block = DownBlock(4, c_out, SN, downsample=downsample)
    assert isinstance(block.shortcut, nn.Identity) == identity
    assert block(torch.randn(2, 4, 8, 8)).shape == (2, c_out, 4 if downsample else 8, 4 if downsample else 8)


@pytest.mark.parametrize('c_out,downsample', [(4, False), (6, True)])
def test_relu_shortcut_feeds_the_shortcut_the_activated_input(c_out, downsample):
    """StudioGAN / mmagic wReLUinplace: x0 = x; x = relu_(x) rewrites the shortcut's input as well."""
    torch.manual_seed(0)
    block = DownBlock(4, c_out, SN, downsample=downsample, relu_shortcut=True, pooled_conv=False).eval()
    x = torch.randn(2, 4, 8, 8)
    pool = (lambda t: F.avg_pool2d(t, 2)) if downsample else (lambda t: t)
    expected = pool(block.conv2(F.relu(block.conv1(F.relu(x))))) + pool(block.shortcut(F.relu(x)))
    torch.testing.assert_close(block(x), expected, atol=1e-5, rtol=0)
    assert not DownBlock(
        3, 4, SN, preactivation=False, relu_shortcut=True).relu_shortcut  # image input: no ReLU


@pytest.mark.parametrize('preactivation,relu_shortcut', [(False, False), (True, False), (True, True)])
def test_pooled_conv_is_the_same_function_as_conv_then_pool(preactivation, relu_shortcut):
    """The one-conv form (stride-2 4×4, box-filtered kernel) equals conv3×3 → avg-pool, values and grads."""
    torch.manual_seed(0)
    fused = DownBlock(4, 6, SN, True, preactivation, relu_shortcut, pooled_conv=True)
    plain = DownBlock(4, 6, SN, True, preactivation, relu_shortcut, pooled_conv=False)
    plain.load_state_dict(fused.state_dict())
    assert fused.state_dict().keys() == plain.state_dict().keys()  # checkpoints do not see the difference
    x = torch.randn(2, 4, 8, 8)
    out_fused, out_plain = fused.train()(x), plain.train()(x)  # one power iteration each, from the same u
    torch.testing.assert_close(out_fused, out_plain, atol=1e-5, rtol=0)
    out_fused.square().sum().backward(), out_plain.square().sum().backward()
    grads = fused.conv2.weight_orig.grad, plain.conv2.weight_orig.grad
    torch.testing.assert_close(*grads, atol=1e-4, rtol=1e-4)
