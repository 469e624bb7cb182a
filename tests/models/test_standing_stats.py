"""Standing statistics: each BatchNorm's running mean/var become the plain average of its batch statistics."""
import pytest
import torch
from torch import nn

from sagan_plugin.models import SAGANGenerator
from sagan_plugin.models.standing_stats import accumulate_standing_stats


def tiny_generator(num_classes=3):
    torch.manual_seed(0)
    return SAGANGenerator(
        output_scale=32,
        num_classes=num_classes,
        noise_size=8,
        channels=(8, 8, 4, 4),
        attention_at=(16, ),
        attention_k=2)


def batch_moments_by_hand(generator, passes, batch_size, seed):
    """Mean over passes of each BN input's batch mean and unbiased variance (train-mode BN does not read
    its running statistics, so the passes can be replayed in any state)."""
    norms = [m for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
    moments = {m: [] for m in norms}
    hooks = [
        m.register_forward_pre_hook(lambda m, args: moments[m].append((args[0].mean(
            (0, 2, 3)), args[0].transpose(0, 1).flatten(1).var(1, unbiased=True)))) for m in norms
    ]
    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in norms:
            m.train()
        for _ in range(passes):
            z = torch.randn(batch_size, generator.noise_size, generator=rng)
            y = torch.randint(0, generator.num_classes, (batch_size, ), generator=rng)
            generator(z, label=y)
    for hook in hooks:
        hook.remove()
    return {m: [torch.stack(v).mean(0) for v in zip(*moments[m])] for m in norms}


def test_running_statistics_become_the_average_over_passes():
    generator = tiny_generator().eval()
    expected = batch_moments_by_hand(tiny_generator().eval(), passes=5, batch_size=6, seed=3)
    before = {k: v.clone() for k, v in generator.state_dict().items() if 'running' not in k}
    torch.manual_seed(123)
    global_state = torch.get_rng_state()
    count = accumulate_standing_stats(generator, num_batches=5, batch_size=6, seed=3)
    assert count == len(expected) > 0
    for (m, (mean, var)), own in zip(expected.items(),
                                     (m for m in generator.modules() if isinstance(m, nn.BatchNorm2d))):
        torch.testing.assert_close(own.running_mean, mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(own.running_var, var, rtol=1e-5, atol=1e-6)
        assert own.momentum == 0.1 and not own.training
    after = generator.state_dict()
    for key, value in before.items():  # weights and spectral-norm vectors untouched
        if 'num_batches_tracked' not in key:
            assert torch.equal(after[key], value), key
    assert torch.equal(torch.get_rng_state(), global_state)
    assert not generator.training


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='batch_size >= 2'):
        accumulate_standing_stats(tiny_generator(), batch_size=1)
    with pytest.raises(ValueError, match='truncation must be > 0'):
        accumulate_standing_stats(tiny_generator(), truncation=0)
