"""BatchNorm statistics at sampling time: running, batch and standing; the model exactly restored after."""
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from sagan_plugin.apis import init_model
from sagan_plugin.evaluation import OfflineFID
from sagan_plugin.evaluation.generated_image_metric import BNModeSampler, GeneratedImageMetric
from sagan_plugin.models.bn_modes import BN_MODES, sampling_bn
from sagan_plugin.models.sampling import truncated_noise
from sagan_plugin.models.standing_stats import accumulate_standing_stats
from tests.apis.checkpoints import tiny_config
from .test_standing_stats import tiny_generator


def state(module: nn.Module) -> dict:
    """Every buffer and parameter, the train flag of every module, and each BatchNorm's switches."""
    out = {k: v.clone() for k, v in module.state_dict().items()}
    out.update({f'{name}.training': m.training for name, m in module.named_modules()})
    out.update({
        f'{name}.bn': (m.momentum, m.track_running_stats)
        for name, m in module.named_modules() if isinstance(m, nn.BatchNorm2d)
    })
    return out


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        same = torch.equal(a[key], b[key]) if isinstance(a[key], torch.Tensor) else a[key] == b[key]
        assert same, key


def inputs(generator, num=6, seed=1, truncation=None):
    rng = torch.Generator().manual_seed(seed)
    z = truncated_noise(num, generator.noise_size, truncation, rng)
    return z, torch.randint(0, generator.num_classes, (num, ), generator=rng)


class OneBN(nn.Module):
    """z -> linear -> BatchNorm1d: the BN's input is known in closed form, so its statistics can be checked
    by hand."""

    def __init__(self, noise_size=3, features=4):
        super().__init__()
        torch.manual_seed(0)
        self.noise_size, self.num_classes = noise_size, 0
        self.linear, self.bn = nn.Linear(noise_size, features), nn.BatchNorm1d(features)

    def forward(self, z, label=None):
        return self.bn(self.linear(z))


def test_standing_statistics_are_the_mean_over_passes_of_truncated_samples():
    """By hand: draw each pass's z as the sampler does (redrawn beyond T, not clipped), take the BN input's
    batch mean and unbiased variance, average over passes: that is running_mean/var afterwards."""
    generator, passes, batch, truncation = OneBN(), 4, 5, 0.7
    rng = torch.Generator().manual_seed(9)
    means, variances = [], []
    for _ in range(passes):
        x = generator.linear(truncated_noise(batch, 3, truncation, rng)).detach()
        means.append(x.mean(0))
        variances.append(((x - x.mean(0))**2).sum(0) / (batch - 1))
    accumulate_standing_stats(generator, num_batches=passes, batch_size=batch, seed=9, truncation=truncation)
    torch.testing.assert_close(generator.bn.running_mean, torch.stack(means).mean(0), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(generator.bn.running_var, torch.stack(variances).mean(0), rtol=1e-5, atol=1e-6)
    rng = torch.Generator().manual_seed(9)  # z clipped to ±T (what it did before) puts mass at ±T instead
    clipped = [
        generator.linear(torch.randn(batch, 3, generator=rng).clamp(-0.7, 0.7)).detach() for _ in range(4)
    ]
    assert not torch.allclose(generator.bn.running_var, torch.stack([x.var(0) for x in clipped]).mean(0))


def test_batch_mode_is_train_mode_bn_and_moves_no_buffer():
    generator = tiny_generator().eval()
    z, y = inputs(generator)
    before = state(generator)
    with torch.no_grad(), sampling_bn(generator, 'batch'):
        ours = generator(z, label=y)
        assert_same(
            state(generator) | {
                k: v
                for k, v in before.items() if k.endswith(('.training', '.bn'))
            }, before)  # every tensor unchanged inside the block
    assert_same(state(generator), before)
    reference = tiny_generator().eval()
    for m in reference.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.train()  # as in training: the batch's own statistics
    with torch.no_grad():
        expected = reference(z, label=y)
    torch.testing.assert_close(ours, expected, rtol=0, atol=0)
    with torch.no_grad():
        assert not torch.allclose(generator(z, label=y), ours)  # running statistics differ


@pytest.mark.parametrize('mode', BN_MODES)
def test_every_mode_restores_the_generator_exactly(mode):
    generator = tiny_generator()
    accumulate_standing_stats(generator, num_batches=2, batch_size=4, seed=5)  # non-trivial statistics
    for m in generator.modules():  # BN in train mode, the rest (SN: no power iteration) in eval mode
        m.train(isinstance(m, nn.BatchNorm2d))
    before = state(generator)
    z, y = inputs(generator, truncation=0.9)
    with torch.no_grad(), sampling_bn(generator, mode, truncation=0.9, num_batches=3, batch_size=4) as g:
        out = g(z, label=y)
    assert_same(state(generator), before)
    assert torch.isfinite(out).all()


def test_standing_mode_samples_with_the_standing_statistics():
    generator = tiny_generator().eval()
    z, y = inputs(generator, truncation=0.5)
    with torch.no_grad(), sampling_bn(generator, 'standing', truncation=0.5, num_batches=3, batch_size=4):
        ours = generator(z, label=y)
    reference = tiny_generator().eval()
    accumulate_standing_stats(reference, num_batches=3, batch_size=4, seed=0, truncation=0.5)
    with torch.no_grad():
        torch.testing.assert_close(ours, reference(z, label=y), rtol=0, atol=0)


def test_an_evaluation_that_fails_while_sampling_leaves_the_model_restored():
    """The metric's sampler switches the mode while the loop iterates it; an exception in the loop body
    closes the iteration and switches back."""
    generator = tiny_generator().eval()
    before = state(generator)
    sampler = BNModeSampler([{'batch': i} for i in range(3)], [generator], 'batch', None, {})
    with pytest.raises(RuntimeError, match='metric failed'):
        for _ in sampler:
            assert all(m.training for m in generator.modules() if isinstance(m, nn.BatchNorm2d))
            raise RuntimeError('metric failed')
    assert_same(state(generator), before)
    assert len(list(sampler)) == len(sampler) == 3


def test_bad_arguments_are_refused():
    generator = tiny_generator()
    with pytest.raises(
            ValueError, match=r"bn_mode must be one of \('running', 'batch', 'standing'\), got 'eval'"):
        with sampling_bn(generator, 'eval'):
            pass
    with pytest.raises(ValueError, match='truncation must be None or > 0, got 0'):
        with sampling_bn(generator, 'standing', truncation=0):
            pass
    with pytest.raises(ValueError, match="bn_mode='standing' needs BatchNorm.*Linear has none"):
        with sampling_bn(nn.Linear(2, 2), 'standing'):
            pass
    with sampling_bn(nn.Linear(2, 2), 'running'):  # nothing to switch, nothing claimed
        pass


def bare_metric(**options) -> GeneratedImageMetric:
    """The mixin's sampling logic without a feature network (none is needed to pick the images)."""
    metric = GeneratedImageMetric.__new__(GeneratedImageMetric)
    defaults = dict(
        sample_seed=0,
        truncation=0.7,
        balanced_classes=False,
        bn_mode='standing',
        sample_model='ema',
        standing_stats=dict(num_batches=2, batch_size=4, seed=0),
        sample_kwargs={},
        fake_nums_per_device=3)
    metric.__dict__.update(defaults, **options)
    return metric


def test_the_metric_sampler_switches_the_sampled_generator_and_metrics_must_agree():
    model = init_model(tiny_config())
    loader = SimpleNamespace(batch_size=2)
    ema, raw = model.generator_ema.module, model.generator
    metric = bare_metric()
    sampler = metric.get_metric_sampler(model, loader, [metric])
    assert isinstance(sampler, BNModeSampler) and sampler.generators == [ema] and len(sampler) == 2
    before = state(ema)
    batches = list(sampler)
    assert [b['inputs']['sample_index'] for b in batches] == [(0, 1), (2, )]
    assert_same(state(ema), before)
    assert bare_metric(sample_model='ema/orig').sampling_generators(model) == [ema, raw]
    assert not isinstance(
        bare_metric(bn_mode='running').get_metric_sampler(model, loader, [metric]), BNModeSampler)
    with pytest.raises(ValueError, match=r"need the same bn_mode, got \['batch', 'standing'\]"):
        metric.get_metric_sampler(model, loader, [metric, bare_metric(bn_mode='batch')])
    with pytest.raises(ValueError, match='need the same standing_stats'):
        metric.get_metric_sampler(model, loader, [metric, bare_metric(standing_stats=dict(num_batches=5))])


def test_metric_options_are_checked_before_any_network_loads():
    with pytest.raises(ValueError, match=r"OfflineFID: bn_mode must be one of .*got 'eval'"):
        OfflineFID(fake_nums=4, bn_mode='eval')
    with pytest.raises(ValueError, match="only with bn_mode='standing'"):
        OfflineFID(fake_nums=4, standing_stats=dict(num_batches=5))
    with pytest.raises(ValueError, match=r"standing_stats takes \['batch_size', 'num_batches', 'seed'\]"):
        OfflineFID(fake_nums=4, bn_mode='standing', standing_stats=dict(passes=5))
