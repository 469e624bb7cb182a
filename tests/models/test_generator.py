"""SAGANGenerator: shapes, channel table, attention placement, conditioning and input errors."""
import pytest
import torch

from sagan_plugin.models.generator import CHANNEL_MULTIPLIERS, SAGANGenerator
from sagan_plugin.models.self_attention import SelfAttentionBlock
from sagan_plugin.registry import MODELS

NOISE = 8
BASE = 2  # 128×128 then has widths 32, 32, 16, 8, 4, 2


def _g(scale=32, num_classes=0, **kwargs):
    torch.manual_seed(0)
    kwargs.setdefault('attention_at', (16, ))
    return SAGANGenerator(scale, num_classes=num_classes, noise_size=NOISE, base_channels=BASE, **kwargs)


def _z(batch=2):
    return torch.randn(batch, NOISE)


def _label(num_classes):
    return torch.tensor([0, num_classes - 1]) if num_classes else None


@pytest.mark.parametrize('num_classes', (0, 3))
@pytest.mark.parametrize('scale', (32, 64, 128))
def test_output_shape_and_range(scale, num_classes):
    # mmagic's base GAN calls generator(noise, label=labels, return_noise=False)
    img = _g(scale, num_classes)(_z(), label=_label(num_classes), return_noise=False)
    assert img.shape == (2, 3, scale, scale)
    assert img.abs().max() <= 1


def test_256_constructs_with_the_table_widths():
    g = _g(256, attention_at=(64, ))
    assert g.channels == [m * BASE for m in CHANNEL_MULTIPLIERS[256]] and len(g.blocks) == 6
    assert g.attention['64'].in_channels == 4 * BASE


@pytest.mark.parametrize('attention_at', [(), (8, ), (16, 32), (8, 16, 32)])
def test_attention_sits_after_the_block_with_that_output_resolution(attention_at):
    g = _g(32, attention_at=attention_at)
    seen = []
    for block in g.attention.values():
        block.register_forward_hook(lambda m, inp, out: seen.append(inp[0].shape[-1]))
    assert g(_z()).shape == (2, 3, 32, 32)
    assert seen == sorted(attention_at)
    assert all(isinstance(b, SelfAttentionBlock) for b in g.attention.values())


@pytest.mark.parametrize('variant,k', [('paper', 4), ('pooled', 8)])
def test_attention_variant_and_k_are_passed_through(variant, k):
    block = _g(64, attention_at=(32, ), attention_variant=variant, attention_k=k).attention['32']
    assert (block.variant, block.in_channels, block.query.out_channels) == (variant, 4 * BASE, 4 * BASE // k)


def test_explicit_channels_and_noise_size():
    g = SAGANGenerator(
        32, noise_size=5, channels=(8, 6, 4, 2), attention_at=(32, ), attention_k=2, out_channels=1)
    assert g(torch.randn(2, 5)).shape == (2, 1, 32, 32)
    assert [b.conv2.out_channels for b in g.blocks] == [6, 4, 2] and g.attention['32'].in_channels == 2


def test_return_noise_gives_the_mmagic_dict():
    z, y = _z(), torch.tensor([1, 2])
    out = _g(num_classes=3)(z, label=y, return_noise=True)
    assert set(out) == {'fake_img', 'noise_batch', 'label'}
    assert out['noise_batch'] is z and out['label'] is y and out['fake_img'].shape == (2, 3, 32, 32)


def test_label_changes_the_image_only_when_conditional():
    z = _z()
    g = _g(num_classes=3).eval()
    assert not torch.allclose(g(z, torch.tensor([0, 0])), g(z, torch.tensor([1, 1])))
    g = _g().eval()
    assert torch.equal(g(z, torch.tensor([0, 0])), g(z, torch.tensor([1, 1])))


def test_attributes_and_registry():
    g = MODELS.build(
        dict(
            type='SAGANGenerator',
            output_scale=32,
            num_classes=3,
            noise_size=NOISE,
            base_channels=BASE,
            attention_at=(16, )))
    assert type(g) is SAGANGenerator
    assert (g.noise_size, g.num_classes, g.output_scale) == (NOISE, 3, 32)


def test_gradient_reaches_attention_gamma():
    g = _g(num_classes=3)
    g(_z(), _label(3)).square().sum().backward()
    assert g.attention['16'].gamma.grad.abs().item() > 0


@pytest.mark.parametrize('kwargs,match', [
    (dict(output_scale=48), r'output_scale must be one of \[32, 64, 128, 256\], got 48'),
    (dict(attention_at=(4, )), r'attention_at \[4\] not in this network; valid resolutions: \[8, 16, 32\]'),
    (dict(attention_at=(16, 64)), r'attention_at \[64\] not in .* \[8, 16, 32\]'),
    (dict(channels=(8, 8, 8)), r'channels needs 4 entries \(one per resolution \[4, 8, 16, 32\]\), got 3'),
    (dict(init_type='normal'), 'init_type must be one of'),
    (dict(attention_variant='full'), 'variant must be one of'),
])
def test_bad_construction(kwargs, match):
    args = dict(output_scale=32, base_channels=BASE, attention_at=(16, ))
    with pytest.raises(ValueError, match=match):
        SAGANGenerator(**{**args, **kwargs})


@pytest.mark.parametrize('noise,label,match', [
    (torch.randn(2, 9), None, r'expected noise of shape \(B, 8\), got \(2, 9\)'),
    (torch.randn(2, 8, 1, 1), None, r'expected noise of shape \(B, 8\), got \(2, 8, 1, 1\)'),
    (torch.randn(2, 8), None, r'num_classes=3: a label tensor of shape \(2,\) is required'),
    (torch.randn(2, 8), torch.tensor([1, 5]), r'label 5 is outside \[0, 3\)'),
])
def test_bad_input(noise, label, match):
    with pytest.raises(ValueError, match=match):
        _g(num_classes=3)(noise, label)
