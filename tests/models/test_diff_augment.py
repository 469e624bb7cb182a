"""DiffAugment: differentiable, applied to real and fake images in both steps, off by default."""
import pytest
import torch

from sagan_plugin.models.diff_augment import AUGMENTATIONS, diff_augment, parse_policy
from sagan_plugin.registry import MODELS
from tests.models.test_sagan import batch, model_cfg, train_step  # noqa: F401  (batch is a fixture)


@pytest.mark.parametrize('name', sorted(AUGMENTATIONS))
def test_each_augmentation_is_differentiable_and_random(name):
    torch.manual_seed(0)
    x = torch.randn(8, 3, 16, 16, requires_grad=True)
    y = AUGMENTATIONS[name](x)
    assert y.shape == x.shape
    assert not torch.equal(y, x)  # it did something
    assert not torch.equal(y[0], AUGMENTATIONS[name](x)[0])  # new parameters every call
    (y * torch.randn_like(y)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize('name', sorted(AUGMENTATIONS))
def test_gradient_is_the_true_one(name):
    """Numerical check of the gradient, the random parameters held fixed (same seed at every call)."""

    def seeded(t):
        torch.manual_seed(1)
        return AUGMENTATIONS[name](t)

    x = torch.randn(2, 3, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(seeded, (x, ))


def test_translation_and_cutout_keep_or_zero_pixels():
    torch.manual_seed(0)
    x = torch.arange(1, 4 * 8 * 8 + 1, dtype=torch.float).view(4, 1, 8, 8)
    shifted = diff_augment(x, ['translation'])
    kept = shifted[shifted != 0]
    assert set(kept.tolist()) <= set(x.flatten().tolist())  # moved pixels, zero fill, nothing invented
    cut = diff_augment(x, ['cutout'])
    zeros = (cut == 0).sum(dim=(1, 2, 3))
    assert ((zeros > 0) & (zeros <= 16)).all()  # a half-side (4x4) square at most, clipped at the border
    assert torch.equal(cut[cut != 0], x[cut != 0])


def test_policy_parsing():
    assert parse_policy(None) == [] and parse_policy('') == []
    assert parse_policy('color, translation,cutout') == ['color', 'translation', 'cutout']
    with pytest.raises(ValueError, match=r"unknown augmentation\(s\) \['colour'\]"):
        parse_policy('colour')
    x = torch.randn(2, 3, 8, 8)
    assert diff_augment(x, []) is x


def _record_d_inputs(model):
    """D's inputs and G's outputs, in call order, during a train step."""
    seen = dict(d=[], g=[])
    model.discriminator.register_forward_pre_hook(
        lambda m, args, kwargs: seen['d'].append(args[0].detach()), with_kwargs=True)
    model.generator.register_forward_hook(lambda m, args, out: seen['g'].append(out.detach()))
    return seen


@pytest.mark.parametrize('policy', [None, 'color,translation,cutout'])
def test_applied_to_real_and_fake_in_both_steps(batch, policy):  # noqa: F811
    torch.manual_seed(0)
    model = MODELS.build(model_cfg(discriminator_steps=1, diff_augment=policy))
    seen = _record_d_inputs(model)
    train_step(model, batch, 0)  # D step, then G step
    real = model.data_preprocessor(batch, True)['data_samples'].gt_img
    (d_step, g_step), (fake_d, fake_g) = seen['d'], seen['g']
    num = len(real)
    if policy is None:  # off (the default): D sees exactly G's output and the real images
        assert torch.equal(d_step[num:], real) and torch.equal(d_step[:num], fake_d) and torch.equal(
            g_step, fake_g)
    else:  # on: every image D sees, real or fake, in either step, is changed
        for seen_by_d, original in ((d_step[num:], real), (d_step[:num], fake_d), (g_step, fake_g)):
            assert all(not torch.equal(a, b) for a, b in zip(seen_by_d, original))


def test_off_by_default():
    assert MODELS.build(model_cfg()).diff_augment == []


def test_generator_gradient_flows_through_the_augmentation(batch):  # noqa: F811
    torch.manual_seed(0)
    model = MODELS.build(model_cfg(discriminator_steps=1, diff_augment='color,translation,cutout'))
    before = [p.detach().clone() for p in model.generator.parameters()]
    train_step(model, batch, 0)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.generator.parameters()))
