"""The SN factory, conditional BN and residual blocks; "SN on every layer" of G and D."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sagan_plugin.models.conditional_batchnorm import ConditionalBatchNorm2d, check_label
from sagan_plugin.models.discriminator import SAGANDiscriminator
from sagan_plugin.models.generator import SAGANGenerator
from sagan_plugin.models.residual_blocks import DownBlock, UpBlock
from sagan_plugin.models.spectral_norm import (has_spectral_norm, initialise_weights, snconv2d, snembedding,
                                               snlinear)

NUM_CLASSES = 3
LABEL = torch.tensor([0, 2])


def _g(**kwargs):
    return SAGANGenerator(
        32, num_classes=NUM_CLASSES, noise_size=8, base_channels=4, attention_at=(16, ), **kwargs)


def _d(**kwargs):
    return SAGANDiscriminator(32, num_classes=NUM_CLASSES, base_channels=4, attention_at=(16, ), **kwargs)


def _run_g(g):
    return g(torch.randn(2, 8), LABEL)


def _run_d(d):
    return d(torch.randn(2, 3, 32, 32), LABEL)


NETS = {'G': (_g, _run_g), 'D': (_d, _run_d)}
SN_LAYERS = {
    'conv': (lambda: snconv2d(4, 6, kernel_size=3), lambda m: m(torch.randn(2, 4, 5, 5))),
    'linear': (lambda: snlinear(7, 5), lambda m: m(torch.randn(2, 7))),
    'embedding': (lambda: snembedding(5, 7), lambda m: m(torch.tensor([1, 4]))),
}


def _sigma_max(weight: torch.Tensor) -> float:
    return torch.linalg.matrix_norm(weight.detach().flatten(1), 2).item()


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
    assert _sigma_max(layer.weight) == pytest.approx(1, abs=1e-2)


@pytest.mark.parametrize('net', NETS)
def test_every_weight_layer_of_g_and_d_is_spectral_normalised(net):
    build, _ = NETS[net]
    weight_layers = (nn.Conv2d, nn.Linear, nn.Embedding)
    layers = [(n, m) for n, m in build().named_modules() if isinstance(m, weight_layers)]
    assert any('attention' in n for n, _ in layers) and any(isinstance(m, nn.Embedding) for _, m in layers)
    assert [n for n, m in layers if not has_spectral_norm(m)] == []


@pytest.mark.parametrize('net', NETS)
def test_sigma_max_is_one_for_every_sn_weight_after_training_forwards(net):
    build, run = NETS[net]
    torch.manual_seed(0)
    model = build().train()
    for _ in range(3):
        run(model)
    sigmas = {n: _sigma_max(m.weight) for n, m in model.named_modules() if has_spectral_norm(m)}
    assert {n: s for n, s in sigmas.items() if abs(s - 1) > 1e-2} == {}


def test_sn_embedding_flag_only_affects_the_conditional_bn_embeddings():
    unsn = [
        n for n, m in _g(sn_embedding=False).named_modules()
        if isinstance(m, nn.Embedding) and not has_spectral_norm(m)
    ]
    assert unsn and all(n.endswith(('.gain', '.bias')) for n in unsn)


@pytest.mark.parametrize('init_type', ('ortho', 'xavier'))
def test_initialise_weights_initialises_the_sn_parameter(init_type):
    torch.manual_seed(0)
    layer = snlinear(16, 8)
    with torch.no_grad():
        layer.weight_orig.zero_()
    initialise_weights(layer, init_type)
    w = layer.weight_orig.detach()
    assert w.abs().sum() > 0
    if init_type == 'ortho':
        torch.testing.assert_close(w @ w.T, torch.eye(8), atol=1e-5, rtol=0)


def test_initialise_weights_rejects_unknown_type():
    with pytest.raises(ValueError, match=r"init_type must be one of \['ortho', 'xavier'\], got 'kaiming'"):
        initialise_weights(snlinear(2, 2), 'kaiming')


def test_conditional_bn_is_plain_affine_bn_when_unconditional():
    torch.manual_seed(0)
    cbn, bn = ConditionalBatchNorm2d(4), nn.BatchNorm2d(4)
    with torch.no_grad():
        cbn.bn.weight.uniform_(), cbn.bn.bias.uniform_()
    bn.load_state_dict(cbn.bn.state_dict())
    x = torch.randn(2, 4, 3, 3)
    assert torch.equal(cbn(x, LABEL), bn(x))


@pytest.mark.parametrize('sn_embedding', (True, False))
def test_conditional_bn_applies_per_class_gain_and_bias(sn_embedding):
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(4, NUM_CLASSES, sn_embedding).eval()
    with torch.no_grad():
        cbn.bn.running_mean.uniform_(), cbn.bn.running_var.uniform_(1, 2)
    x = torch.randn(2, 4, 3, 3)
    out = cbn(x, LABEL)
    assert cbn.bn.affine is False and has_spectral_norm(cbn.gain) == sn_embedding
    mean, var = cbn.bn.running_mean[:, None, None], cbn.bn.running_var[:, None, None]
    normed = (x - mean) / (var + cbn.bn.eps).sqrt()
    gain, bias = cbn.gain.weight[LABEL], cbn.bias.weight[LABEL]
    torch.testing.assert_close(out, normed * (1 + gain[:, :, None, None]) + bias[:, :, None, None])
    assert not torch.allclose(out[0], cbn(x, torch.tensor([1, 2]))[0])


@pytest.mark.parametrize('label,batch,match', [
    (None, 2, r'num_classes=3: a label tensor of shape \(2,\) is required'),
    (torch.tensor([0, 3]), 2, r'label 3 is outside \[0, 3\)'),
    (torch.tensor([-1, 0]), 2, r'label -1 is outside \[0, 3\)'),
    (torch.tensor([[0], [1]]), 2, r'expected label of shape \(2,\).*got shape \(2, 1\)'),
    (torch.tensor([0.0, 1.0]), 2, r'dtype torch.int64, got .* torch.float32'),
    (torch.tensor([0, 1, 2]), 2, r'expected label of shape \(2,\)'),
])
def test_check_label_errors(label, batch, match):
    with pytest.raises(ValueError, match=match):
        check_label(label, NUM_CLASSES, batch)


def test_check_label_ignores_labels_when_unconditional():
    assert check_label(torch.tensor([7]), 0, 1) is None


@pytest.mark.parametrize('num_classes', (0, NUM_CLASSES))
def test_up_block_matches_upsample_then_conv_shortcut(num_classes):
    """Same function as the brief's ordering: upsample first, then 1×1-conv the shortcut."""
    torch.manual_seed(0)
    block = UpBlock(4, 6, num_classes).eval()
    x = torch.randn(2, 4, 5, 5)
    y = block(x, LABEL if num_classes else None)
    assert y.shape == (2, 6, 10, 10)
    up = F.interpolate(x, scale_factor=2, mode='nearest')
    h = block.conv1(F.interpolate(F.relu(block.bn1(x, LABEL)), scale_factor=2))
    h = block.conv2(F.relu(block.bn2(h, LABEL)))
    torch.testing.assert_close(y, h + block.shortcut(up), atol=1e-5, rtol=0)


@pytest.mark.parametrize('preactivation', (True, False))
def test_down_block_matches_biggan_ordering(preactivation):
    """BigGAN's DBlock: shortcut conv-then-pool after pre-activation, pool-then-conv in the first block."""
    torch.manual_seed(0)
    block = DownBlock(4, 6, downsample=True, preactivation=preactivation).eval()  # eval: u, v stay put
    x = torch.randn(2, 4, 8, 8)
    h = F.relu(x) if preactivation else x
    h = F.avg_pool2d(block.conv2(F.relu(block.conv1(h))), 2)
    sc = F.avg_pool2d(block.shortcut(x), 2) if preactivation else block.shortcut(F.avg_pool2d(x, 2))
    torch.testing.assert_close(block(x), h + sc, atol=1e-5, rtol=0)


@pytest.mark.parametrize('c_out,downsample,identity', [(4, False, True), (6, False, False), (4, True, False)])
def test_down_block_shortcut_is_learnable_only_when_needed(c_out, downsample, identity):
    block = DownBlock(4, c_out, downsample=downsample)
    assert isinstance(block.shortcut, nn.Identity) == identity
    assert block(torch.randn(2, 4, 8, 8)).shape == (2, c_out, 4 if downsample else 8, 4 if downsample else 8)
