"""SAGANDiscriminator: shapes, block table, attention placement, projection head and input errors."""
import pytest
import torch

from sagan_plugin.models.discriminator import ARCHITECTURES, SAGANDiscriminator
from sagan_plugin.registry import MODELS

BASE = 4


def _d(scale=32, num_classes=0, **kwargs):
    torch.manual_seed(0)
    kwargs.setdefault('attention_at', (16, ))
    return SAGANDiscriminator(scale, num_classes=num_classes, base_channels=BASE, **kwargs)


def _x(scale=32, batch=2, channels=3):
    return torch.randn(batch, channels, scale, scale)


@pytest.mark.parametrize('num_classes', (0, 3))
@pytest.mark.parametrize('scale', (32, 64, 128))
def test_score_shape(scale, num_classes):
    label = torch.tensor([0, 2]) if num_classes else None
    assert _d(scale, num_classes)(_x(scale), label=label).shape == (2, )


def test_256_constructs_with_the_table_widths():
    d = _d(256, attention_at=(32, ))
    multipliers, downsample = ARCHITECTURES[256]
    assert [b.conv2.out_channels for b in d.blocks] == [m * BASE for m in multipliers]
    assert [b.downsample for b in d.blocks] == list(downsample)
    assert d.attention['32'].in_channels == 4 * BASE


def test_only_the_first_block_is_the_optimized_one():
    assert [b.preactivation for b in _d(64).blocks] == [False, True, True, True, True]


@pytest.mark.parametrize(
    'scale,attention_at,seen',
    [
        (32, (), []),
        (32, (16, 8), [16, 8]),  # three 32-blocks end at 8×8: attention only after the first
        (64, (32, ), [32]),
        (64, (32, 8), [32, 8]),
        (128, (64, 4), [64, 4]),
    ])
def test_attention_sits_after_the_first_block_with_that_output_resolution(scale, attention_at, seen):
    d = _d(scale, attention_at=attention_at, attention_k=2)  # k=2: the 2-channel 64×64 stage of D-128
    got = []
    for block in d.attention.values():
        block.register_forward_hook(lambda m, inp, out: got.append(inp[0].shape[-1]))
    d(_x(scale))
    assert got == seen


def test_projection_head():
    """D(x, y) = ψ(φ(x)) + ⟨embed(y), φ(x)⟩ with φ the sum-pooled ReLU features."""
    d = _d(num_classes=3)
    # A training forward updates u, v once; in eval they stay put, so the weights read below are those used.
    d(_x(), torch.tensor([0, 1]))
    d.eval()
    phi = []
    d.linear.register_forward_hook(lambda m, inp, out: phi.append(inp[0]))
    label = torch.tensor([2, 0])
    with torch.no_grad():
        score = d(_x(), label)
    features = phi[0]
    assert features.shape == (2, 4 * BASE) and (features >= 0).all()
    expected = d.linear(features).squeeze(1) + (d.embedding.weight[label] * features).sum(1)
    torch.testing.assert_close(score, expected)


def test_unconditional_has_no_projection_and_ignores_labels():
    d = _d().eval()
    x = _x()
    assert not hasattr(d, 'embedding')
    assert torch.equal(d(x, torch.tensor([0, 0])), d(x))


def test_explicit_channels_and_in_channels():
    d = SAGANDiscriminator(32, channels=(4, 6, 6, 8), attention_at=(8, ), attention_k=2, in_channels=1)
    assert d(_x(channels=1)).shape == (2, ) and d.attention['8'].in_channels == 6


def test_attributes_and_registry():
    d = MODELS.build(
        dict(
            type='SAGANDiscriminator', input_scale=32, num_classes=3, base_channels=BASE,
            attention_at=(16, )))
    assert type(d) is SAGANDiscriminator
    assert (d.num_classes, d.input_scale) == (3, 32)


def test_gradient_reaches_attention_gamma():
    d = _d(num_classes=3)
    d(_x(), torch.tensor([0, 1])).sum().backward()
    assert d.attention['16'].gamma.grad.abs().item() > 0


@pytest.mark.parametrize('kwargs,match', [
    (dict(input_scale=96), r'input_scale must be one of \[32, 64, 128, 256\], got 96'),
    (dict(attention_at=(32, )), r'attention_at \[32\] not in this network; valid resolutions: \[8, 16\]'),
    (dict(channels=(8, 8)), r'channels needs 4 entries \(one per down-block\), got 2'),
    (dict(init_type='normal'), 'init_type must be one of'),
    (dict(attention_k=3), 'must be divisible by k=3'),
])
def test_bad_construction(kwargs, match):
    args = dict(input_scale=32, base_channels=BASE, attention_at=(16, ))
    with pytest.raises(ValueError, match=match):
        SAGANDiscriminator(**{**args, **kwargs})


@pytest.mark.parametrize('x,label,match', [
    (_x(64), torch.tensor([0, 1]), r'expected images of shape \(B, 3, 32, 32\), got \(2, 3, 64, 64\)'),
    (_x(channels=1), torch.tensor([0, 1]), r'expected images .* got \(2, 1, 32, 32\)'),
    (torch.randn(3, 32, 32), torch.tensor([0, 1]), r'expected images .* got \(3, 32, 32\)'),
    (_x(), None, r'num_classes=3: a label tensor of shape \(2,\) is required'),
    (_x(), torch.tensor([0, 3]), r'label 3 is outside \[0, 3\)'),
])
def test_bad_input(x, label, match):
    with pytest.raises(ValueError, match=match):
        _d(num_classes=3)(x, label)
