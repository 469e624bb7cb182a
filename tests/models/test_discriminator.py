"""SAGANDiscriminator's own parts: the optimized first block, image input and the projection head."""
import pytest
import torch

from sagan_plugin.models.discriminator import SAGANDiscriminator

BASE = 4


def _d(num_classes=3, **kwargs):
    torch.manual_seed(0)
    return SAGANDiscriminator(32, num_classes=num_classes, base_channels=BASE, attention_at=(16, ), **kwargs)


def _x(scale=32, batch=2, channels=3):
    return torch.randn(batch, channels, scale, scale)


def test_only_the_first_block_is_the_optimized_one():
    d = SAGANDiscriminator(64, base_channels=BASE, attention_at=())
    assert [b.preactivation for b in d.blocks] == [False, True, True, True, True]


def test_projection_head():
    """D(x, y) = ψ(φ(x)) + ⟨embed(y), φ(x)⟩ with φ the sum-pooled ReLU features."""
    d = _d()
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


def test_unconditional_has_no_projection():
    assert not hasattr(_d(num_classes=0), 'embedding')


def test_explicit_channels_and_in_channels():
    d = SAGANDiscriminator(32, channels=(4, 6, 6, 8), attention_at=(8, ), attention_k=2, in_channels=1)
    assert d(_x(channels=1)).shape == (2, ) and d.attention['8'].in_channels == 6


@pytest.mark.parametrize('x,match', [
    (_x(64), r'expected images of shape \(B, 3, 32, 32\), got \(2, 3, 64, 64\)'),
    (_x(channels=1), r'expected images .* got \(2, 1, 32, 32\)'),
    (torch.randn(3, 32, 32), r'expected images .* got \(3, 32, 32\)'),
])
def test_bad_images(x, match):
    with pytest.raises(ValueError, match=match):
        _d()(x, torch.tensor([0, 1]))
