"""What SAGANGenerator and SAGANDiscriminator share, tested once over both: the table, attention placement,
"SN on every layer", conditioning inputs and construction errors."""
from typing import Callable, NamedTuple

import pytest
import torch
from torch import nn

from sagan_plugin.models import discriminator, generator
from sagan_plugin.models.network import initialise_weights
from sagan_plugin.models.self_attention import SelfAttentionBlock
from sagan_plugin.models.spectral_norm import SNLayers, has_spectral_norm
from sagan_plugin.registry import MODELS

BASE, NOISE = 4, 8


class Net(NamedTuple):
    cls: type
    scale_arg: str  # output_scale / input_scale
    run: Callable  # (net, batch, scale, label) -> output
    output: Callable  # (batch, scale) -> expected output shape


NETS = {
    'G':
    Net(generator.SAGANGenerator, 'output_scale', lambda net, b, s, y: net(torch.randn(b, NOISE), y),
        lambda b, s: (b, 3, s, s)),
    'D':
    Net(discriminator.SAGANDiscriminator, 'input_scale', lambda net, b, s, y: net(torch.randn(b, 3, s, s), y),
        lambda b, s: (b, )),
}
TABLES = {'G': generator.ARCHITECTURES, 'D': discriminator.ARCHITECTURES}


def build(name, scale=32, num_classes=0, **kwargs):
    torch.manual_seed(0)
    net = NETS[name]
    kwargs.setdefault('attention_at', (16, ))
    kwargs.setdefault('base_channels', BASE)
    if name == 'G':
        kwargs.setdefault('noise_size', NOISE)
    return net.cls(**{net.scale_arg: scale}, num_classes=num_classes, **kwargs)


def run(name, model, scale=32, label=None, batch=2):
    return NETS[name].run(model, batch, scale, label)


def labels(num_classes):
    return torch.tensor([0, num_classes - 1]) if num_classes else None


@pytest.mark.parametrize('name', NETS)
@pytest.mark.parametrize('num_classes', (0, 3))
@pytest.mark.parametrize('scale', (32, 64, 128))
def test_output_shape(name, scale, num_classes):
    out = run(name, build(name, scale, num_classes), scale, labels(num_classes))
    assert out.shape == NETS[name].output(2, scale)


@pytest.mark.parametrize('name', NETS)
@pytest.mark.parametrize('scale', sorted(generator.ARCHITECTURES))
def test_blocks_follow_the_table(name, scale):
    net = build(name, scale, attention_at=())
    table = TABLES[name][scale]
    rows = table[1:] if name == 'G' else table  # G's first row is the 4×4 stem of the linear layer
    assert [b.conv2.out_channels for b in net.blocks] == [s.width * BASE for s in rows]
    resolution, factor = (4, 2) if name == 'G' else (scale, 0.5)
    for plan, stage in zip(net.plans, rows):
        resolution = int(resolution * factor) if stage.resample else resolution
        assert plan.resolution == resolution
    assert net.plans[-1].resolution == (scale if name == 'G' else (8 if scale == 32 else 4))


@pytest.mark.parametrize('name', NETS)
@pytest.mark.parametrize('attention_at', [(), (16, ), (8, 16), (8, 16, 32)])
def test_attention_sits_after_the_first_block_with_that_output_resolution(name, attention_at):
    if name == 'D':  # D-32's blocks end at 16, 8, 8, 8: no 32
        attention_at = tuple(r for r in attention_at if r != 32)
    net = build(name, attention_at=attention_at)
    seen = []
    for block in net.attention.values():
        assert isinstance(block, SelfAttentionBlock)
        block.register_forward_hook(lambda m, inp, out: seen.append(inp[0].shape[-1]))
    run(name, net)
    assert sorted(seen) == sorted(attention_at) and len(seen) == len(attention_at)
    first = {r: min(i for i, p in enumerate(net.plans) if p.resolution == r) for r in attention_at}
    assert {i for i, key in enumerate(net.attention_after) if key} == set(first.values())


@pytest.mark.parametrize('name', NETS)
@pytest.mark.parametrize('variant,k', [('paper', 4), ('pooled', 8)])
def test_attention_variant_k_and_eps_are_passed_through(name, variant, k):
    block = build(
        name,
        64,
        attention_at=(16, ),
        attention_variant=variant,
        attention_k=k,
        sn_eps=1e-12,
        base_channels=8).attention['16']
    assert (block.variant, block.query.out_channels) == (variant, block.in_channels // k)
    sn_hooks = [h for h in block.query._forward_pre_hooks.values() if hasattr(h, 'eps')]
    assert [h.eps for h in sn_hooks] == [1e-12]


@pytest.mark.parametrize('name', NETS)
def test_every_weight_layer_is_spectral_normalised_to_unit_norm(name):
    net = build(name, num_classes=3).train()
    layers = [(n, m) for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]
    assert any('attention' in n for n, _ in layers) and any(isinstance(m, nn.Embedding) for _, m in layers)
    assert [n for n, m in layers if not has_spectral_norm(m)] == []
    for _ in range(3):
        run(name, net, label=labels(3))
    run(name, net.eval(), label=labels(3))  # keeps W/σ on the layers (training forwards release it)
    sigmas = {n: torch.linalg.matrix_norm(m.weight.detach().flatten(1), 2).item() for n, m in layers}
    assert {n: s for n, s in sigmas.items() if abs(s - 1) > 1e-2} == {}


@pytest.mark.parametrize('name', NETS)
def test_gradient_reaches_attention_gamma(name):
    net = build(name, num_classes=3)
    run(name, net, label=labels(3)).square().sum().backward()
    assert net.attention['16'].gamma.grad.abs().item() > 0


@pytest.mark.parametrize('name', NETS)
def test_builds_from_the_registry_with_its_attributes(name):
    net = NETS[name]
    built = MODELS.build(
        dict(
            type=net.cls.__name__, **{net.scale_arg: 32}, num_classes=3, base_channels=BASE, attention_at=()))
    assert type(built) is net.cls and built.num_classes == 3


@pytest.mark.parametrize('name', NETS)
@pytest.mark.parametrize('init_type', ('ortho', 'xavier'))
def test_initialisation_touches_the_sn_parameter(name, init_type):
    net = build(name)
    with torch.no_grad():
        net.linear.weight_orig.zero_()
    initialise_weights(net, init_type)
    assert net.linear.weight_orig.abs().sum() > 0


@pytest.mark.parametrize('name', NETS)
@pytest.mark.parametrize('kwargs,match', [
    (dict(scale=48), r'_scale must be one of \[32, 64, 128, 256\], got 48'),
    (dict(attention_at=(4, )), r'attention_at \[4\] not in this network; valid resolutions: \[8, '),
    (dict(attention_at=(16, 64)), r'attention_at \[64\] not in this network'),
    (dict(channels=(8, 8, 8, 8, 8, 8)), r'channels needs 4 entries'),
    (dict(init_type='normal'), r"init_type must be one of \['ortho', 'xavier'\], got 'normal'"),
    (dict(attention_variant='full'), 'variant must be one of'),
    (dict(attention_k=3), 'must be divisible by k=3'),
])
def test_bad_construction_names_the_argument(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(name, **kwargs)


@pytest.mark.parametrize('name', NETS)
@pytest.mark.parametrize('label,match', [
    (None, r'num_classes=3: a label tensor of shape \(2,\) is required'),
    (torch.tensor([[0, 1], [1, 0]]), r'expected label of shape \(2,\) or \(2, 1\).*got shape \(2, 2\)'),
    (torch.tensor([[0], [1]], dtype=torch.int32), r'dtype torch.int64.*got .* torch.int32'),
    (torch.tensor([0.0, 1.0]), r'dtype torch.int64.*got .* torch.float32'),
    (torch.tensor([0, 1, 2]), r'expected label of shape \(2,\)'),
])
def test_bad_labels_are_clear_errors(name, label, match):
    with pytest.raises(ValueError, match=match):
        run(name, build(name, num_classes=3), label=label)


@pytest.mark.parametrize('name', NETS)
def test_labels_of_shape_b_by_1_as_mmagic_packs_them_give_the_same_output(name):
    net = build(name, num_classes=3).eval()
    label = torch.tensor([2, 0])
    torch.manual_seed(1)
    flat = run(name, net, label=label)
    torch.manual_seed(1)
    assert torch.equal(flat, run(name, net, label=label[:, None]))


@pytest.mark.parametrize('name', NETS)
def test_unconditional_networks_ignore_labels(name):
    net = build(name).eval()
    torch.manual_seed(1)
    a = run(name, net, label=torch.tensor([0, 0]))
    torch.manual_seed(1)
    assert torch.equal(a, run(name, net, label=torch.tensor([5, 9])))


def test_sn_layers_can_be_switched_off_in_one_place():
    assert not has_spectral_norm(SNLayers(enabled=False).conv(2, 3, 3))
    assert has_spectral_norm(SNLayers().embedding(2, 3))


@pytest.mark.parametrize('name,rows,scale,resolutions', [
    ('G', [[8, False], [4, True], [2, True], [1, True]], 32, [8, 16, 32]),
    ('D', [[1, False], [2, True], [4, True], [8, False]], 32, [32, 16, 8, 8]),
    ('D', [[1, True], [2, True], [4, True]], 48, [24, 12, 6]),
])
def test_an_architecture_table_can_be_given(name, rows, scale, resolutions):
    net = build(name, scale, architecture=rows, attention_at=resolutions[:1], base_channels=4, attention_k=2)
    assert [p.resolution for p in net.plans] == resolutions
    assert run(name, net, scale).shape == NETS[name].output(2, scale)


@pytest.mark.parametrize('name,rows,match', [
    ('G', [[8, False], [4, True]], r'architecture doubles 4x4 to 8 px, not output_scale=32'),
    ('D', [[1, True]] * 6, r'architecture halves 32 px 6 times'),
    ('G', [[8]], r'architecture must be a list of \[width multiplier, resample\] pairs'),
])
def test_a_wrong_architecture_is_a_clear_error(name, rows, match):
    with pytest.raises(ValueError, match=match):
        build(name, architecture=rows, attention_at=())


@pytest.mark.parametrize('name', NETS)
def test_residual_control_takes_the_attention_slot_with_matched_parameters(name):
    """The paper's Table 1 control: a local residual block where attention was, parameters matched."""
    from sagan_plugin.models.layers import ResidualControl
    attention = build(name, 64, attention_at=(16, ), base_channels=16)
    control = build(name, 64, attention_at=(16, ), base_channels=16, attention_variant='residual')
    block = control.attention['16']
    assert isinstance(block, ResidualControl) and block.gamma.item() == 0
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # The hidden width is the integer whose 18·C·h parameters come nearest the attention's 4·C·C/8 (within
    # half a step, 9·C); the networks with either block then differ by under 5% in parameters.
    assert abs(count(block) - (count(attention.attention['16']) - 1)) <= 9 * block.conv1.in_channels + 1
    assert abs(count(control) - count(attention)) <= 0.05 * count(attention)
    out = run(name, control, 64)
    out.square().sum().backward()
    assert block.gamma.grad.abs() > 0
