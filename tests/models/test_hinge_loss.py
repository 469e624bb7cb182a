import pytest
import torch

from sagan_plugin.registry import MODELS

SCORES = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0])


@pytest.mark.parametrize(
    'target_is_real, is_disc, expected',
    [
        (True, True, 6.0 / 5),  # D, real: mean(relu(1 - s)) = (3 + 1.5 + 1 + 0.5 + 0) / 5
        (False, True, 6.0 / 5),  # D, fake: mean(relu(1 + s)) = (0 + 0.5 + 1 + 1.5 + 3) / 5
        (True, False, 0.0),  # G: -mean(s)
    ])
def test_hand_computed_values(target_is_real, is_disc, expected):
    loss = MODELS.build(dict(type='SAGANHingeLoss'))
    assert loss(SCORES, target_is_real=target_is_real, is_disc=is_disc).item() == pytest.approx(expected)


def test_asymmetric_batch_and_weight():
    loss = MODELS.build(dict(type='SAGANHingeLoss', loss_weight=2.0))
    scores = torch.tensor([[3.0], [0.25]])
    assert loss(scores, True, is_disc=True).item() == pytest.approx(2.0 * 0.75 / 2)
    assert loss(scores, False, is_disc=True).item() == pytest.approx(2.0 * (4.0 + 1.25) / 2)
    assert loss(scores, True, is_disc=False).item() == pytest.approx(-2.0 * 3.25 / 2)


def test_generator_form_has_no_fake_target():
    with pytest.raises(ValueError, match='generator form'):
        MODELS.build(dict(type='SAGANHingeLoss'))(SCORES, target_is_real=False, is_disc=False)


def test_gradient_is_zero_beyond_the_margin():
    scores = torch.tensor([2.0, 0.0], requires_grad=True)
    MODELS.build(dict(type='SAGANHingeLoss'))(scores, True, is_disc=True).backward()
    assert scores.grad.tolist() == [0.0, -0.5]
