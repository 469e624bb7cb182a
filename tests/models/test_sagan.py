import copy

import pytest
import torch
from mmagic.structures import DataSample
from mmengine import MessageHub
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from sagan_plugin.registry import DATASETS, MODELS

TINY = dict(
    type='SAGAN',
    data_preprocessor=dict(type='DataPreprocessor'),
    num_classes=10,
    generator=dict(
        type='SAGANGenerator', output_scale=32, noise_size=16, channels=(32, 16, 16, 8), attention_at=(16, )),
    discriminator=dict(
        type='SAGANDiscriminator', input_scale=32, channels=(8, 16, 16, 32), attention_at=(16, )),
    discriminator_steps=2)


def model_cfg(**changes):
    cfg = copy.deepcopy(TINY)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    return cfg


@pytest.fixture(scope='module')
def batch():
    """Six real Fashion-MNIST images at 32x32, packed as the training pipeline packs them."""
    dataset = DATASETS.build(
        dict(
            type='FashionMNIST',
            num_samples=6,
            pipeline=[
                dict(type='Resize', keys='gt', scale=(32, 32), backend='pillow'),
                dict(type='PackInputs')
            ]))
    return pseudo_collate([dataset[i] for i in range(6)])


def train_step(model, batch, iteration):
    MessageHub.get_current_instance().update_info('iter', iteration)
    optim = build_optim_wrapper(model, dict(constructor='TTUROptimWrapperConstructor'))
    return model.train_step(batch, optim)


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


@pytest.mark.parametrize('num_classes', [10, 0])
def test_n_dis_schedule(batch, num_classes):
    """Iteration 0 updates D only; iteration 1 (n_dis = 2) updates D then G."""
    model = MODELS.build(
        model_cfg(
            num_classes=num_classes,
            generator=dict(num_classes=num_classes),
            discriminator=dict(num_classes=num_classes)))
    g_before, d_before = params(model.generator), params(model.discriminator)
    logs = train_step(model, batch, iteration=0)
    assert set(logs) == {'loss', 'loss_disc_fake', 'loss_disc_real'}
    assert changed(d_before, model.discriminator) and not changed(g_before, model.generator)
    logs = train_step(model, batch, iteration=1)
    assert 'loss_gen' in logs and changed(g_before, model.generator)
    assert all(torch.isfinite(v) for v in logs.values())


def test_ema_follows_generator_with_decay(batch):
    model = MODELS.build(model_cfg(discriminator_steps=1, ema_config=dict(type='DecayEMA', decay=0.9)))
    train_step(model, batch, iteration=0)  # the first EMA update copies the generator
    ema_before = params(model.generator_ema.module)
    train_step(model, batch, iteration=1)
    for old, new, param in zip(ema_before, model.generator_ema.module.parameters(),
                               model.generator.parameters()):
        torch.testing.assert_close(new, 0.9 * old + 0.1 * param)


@pytest.mark.parametrize('bn_stats', ['copy', 'average'])
def test_ema_batchnorm_statistics_through_the_train_step(batch, bn_stats):
    """mmagic's train step copies the buffers again after the EMA update; 'average' must survive it."""
    ema_config = dict(type='DecayEMA', decay=0.9, bn_stats=bn_stats)
    model = MODELS.build(model_cfg(discriminator_steps=1, ema_config=ema_config))
    train_step(model, batch, iteration=0)
    stats = {k: v.clone() for k, v in model.generator_ema.module.named_buffers() if 'running_' in k}
    train_step(model, batch, iteration=1)
    source = dict(model.generator.named_buffers())
    for key, old in stats.items():
        expected = source[key] if bn_stats == 'copy' else 0.9 * old + 0.1 * source[key]
        torch.testing.assert_close(dict(model.generator_ema.module.named_buffers())[key], expected)
    assert not torch.equal(old, source[key])


@pytest.mark.parametrize('decay', [0.001, 1.0])
def test_ema_rejects_a_decay_that_cannot_be_meant(decay):
    with pytest.raises(ValueError, match='weight of the old average'):
        MODELS.build(model_cfg(ema_config=dict(type='DecayEMA', decay=decay)))


def test_val_step_samples_with_ema_and_cycled_labels():
    model = MODELS.build(model_cfg(ema_config=dict(type='DecayEMA', decay=0.999))).eval()
    samples = model.val_step(dict(inputs=dict(num_batches=12, label='cycle')))
    assert [s.sample_model for s in samples] == ['ema'] * 12
    assert [int(s.gt_label.label) for s in samples] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert samples[0].fake_img.shape == (3, 32, 32)


def test_unknown_label_mode_is_a_clear_error():
    with pytest.raises(ValueError, match='cycle'):
        MODELS.build(TINY).eval().val_step(dict(inputs=dict(num_batches=2, label='rows')))


def test_class_out_of_range_is_a_clear_error():
    samples = [DataSample(), DataSample()]
    for sample, label in zip(samples, (3, 10)):
        sample.set_gt_label(label)
    with pytest.raises((AssertionError, ValueError), match='10'):
        MODELS.build(TINY).eval().val_step(dict(inputs=dict(num_batches=2), data_samples=samples))


def test_real_labels_are_required_when_conditional(batch):
    unlabelled = copy.deepcopy(batch)
    for sample in unlabelled['data_samples']:
        del sample.gt_label
    with pytest.raises((KeyError, AssertionError), match='gt_label'):
        train_step(MODELS.build(TINY), unlabelled, iteration=0)
