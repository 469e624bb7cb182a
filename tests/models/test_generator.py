"""SAGANGenerator's own parts: the 4×4 stem, noise input, mmagic's return_noise form, class conditioning."""
import pytest
import torch

from sagan_plugin.models.generator import SAGANGenerator

NOISE = 8


def _g(num_classes=3, **kwargs):
    torch.manual_seed(0)
    return SAGANGenerator(
        32, num_classes=num_classes, noise_size=NOISE, base_channels=2, attention_at=(16, ), **kwargs)


def test_explicit_channels_noise_size_and_out_channels():
    g = SAGANGenerator(
        32, noise_size=5, channels=(8, 6, 4, 2), attention_at=(32, ), attention_k=2, out_channels=1)
    assert g(torch.randn(2, 5)).shape == (2, 1, 32, 32)
    assert g.linear.out_features == 8 * 4 * 4
    assert [b.conv2.out_channels for b in g.blocks] == [6, 4, 2] and g.attention['32'].in_channels == 2


def test_output_is_in_the_tanh_range():
    assert _g()(torch.randn(4, NOISE) * 10, torch.tensor([0, 1, 2, 0])).abs().max() <= 1


def test_return_noise_gives_the_mmagic_dict():
    z, y = torch.randn(2, NOISE), torch.tensor([1, 2])
    out = _g()(z, label=y, return_noise=True)
    assert set(out) == {'fake_img', 'noise_batch', 'label'}
    assert out['noise_batch'] is z and out['label'] is y and out['fake_img'].shape == (2, 3, 32, 32)


def test_label_changes_the_image_when_conditional():
    z, g = torch.randn(2, NOISE), _g().eval()
    assert not torch.allclose(g(z, torch.tensor([0, 0])), g(z, torch.tensor([1, 1])))


def test_bn_eps_and_embedding_sn_are_configurable():
    g = _g(norm_eps=1e-4, sn_embedding=False)
    assert {m.eps for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)} == {1e-4}
    assert not hasattr(g.blocks[0].bn1.gain, 'weight_orig') and hasattr(g.blocks[0].conv1, 'weight_orig')


@pytest.mark.parametrize('noise,match', [
    (torch.randn(2, 9), r'expected noise of shape \(B, 8\), got \(2, 9\)'),
    (torch.randn(2, 8, 1, 1), r'expected noise of shape \(B, 8\), got \(2, 8, 1, 1\)'),
])
def test_bad_noise(noise, match):
    with pytest.raises(ValueError, match=match):
        _g()(noise, torch.tensor([0, 1]))


def test_one_hot_class_weights_equal_class_ids_and_mix_in_between():
    g, z = _g().eval(), torch.randn(2, NOISE)
    ids = torch.tensor([0, 2])
    onehot = torch.nn.functional.one_hot(ids, 3).float()
    torch.testing.assert_close(g(z, onehot), g(z, ids), atol=1e-6, rtol=0)
    half = (onehot + torch.nn.functional.one_hot(torch.tensor([1, 1]), 3).float()) / 2
    mixed = g(z, half)
    assert not torch.allclose(mixed, g(z, ids)) and not torch.allclose(mixed, g(z, torch.tensor([1, 1])))


def test_class_weights_of_the_wrong_shape_are_a_clear_error():
    with pytest.raises(ValueError, match=r'or float class weights of shape \(2, 3\)'):
        _g()(torch.randn(2, NOISE), torch.ones(2, 4))


def test_rgb_to_bgr_reverses_the_output_channels_and_nothing_else():
    z, y = torch.randn(2, NOISE), torch.tensor([0, 1])
    rgb, bgr = _g().eval(), _g(rgb_to_bgr=True).eval()  # same seed: the same weights
    torch.testing.assert_close(bgr(z, y), rgb(z, y)[:, [2, 1, 0]], rtol=0, atol=0)
    with pytest.raises(ValueError, match='rgb_to_bgr=True needs out_channels=3, got 1'):
        _g(rgb_to_bgr=True, out_channels=1)
