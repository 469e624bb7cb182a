import pytest
import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict, build_optim_wrapper
from torch import nn


class TwoNets(nn.Module):

    def __init__(self):
        super().__init__()
        self.generator, self.discriminator = nn.Linear(2, 2), nn.Linear(2, 1)


def build(**cfg):
    return build_optim_wrapper(TwoNets(), dict(constructor='TTUROptimWrapperConstructor', **cfg))


def adam_settings(wrappers):
    return {
        name: (w.optimizer.param_groups[0]['lr'], w.optimizer.param_groups[0]['betas'])
        for name, w in wrappers.items()
    }


def test_paper_defaults():
    wrappers = build()
    assert isinstance(wrappers, OptimWrapperDict)
    assert all(
        type(w) is OptimWrapper and isinstance(w.optimizer, torch.optim.Adam) for w in wrappers.values())
    assert adam_settings(wrappers) == dict(generator=(1e-4, (0.0, 0.9)), discriminator=(4e-4, (0.0, 0.9)))


def test_each_optimizer_owns_its_network():
    model = TwoNets()
    wrappers = build_optim_wrapper(model, dict(constructor='TTUROptimWrapperConstructor'))
    for name, wrapper in wrappers.items():
        assert set(map(id,
                       wrapper.param_groups[0]['params'])) == set(map(id,
                                                                      getattr(model, name).parameters()))


def test_overrides_integer_betas_and_accumulation():
    # (0, 0.999) with an int is what torch >= 2.13 rejects; the constructor makes both floats.
    wrappers = build(generator_lr=2e-4, discriminator_lr=8e-4, betas=(0, 0.999), accumulative_counts=4)
    assert adam_settings(wrappers) == dict(generator=(2e-4, (0.0, 0.999)), discriminator=(8e-4, (0.0, 0.999)))
    assert all(w._accumulative_counts == 4 for w in wrappers.values())


@pytest.mark.parametrize('cfg, error, match', [
    (dict(betas=(0.0, 1.5)), ValueError, 'betas'),
    (dict(optimizer=dict(type='SGD')), KeyError, 'generator_lr'),
    (dict(no_such_key=1), TypeError, 'no_such_key'),
])
def test_bad_config_is_a_clear_error(cfg, error, match):
    with pytest.raises(error, match=match):
        build(**cfg)


def test_model_without_discriminator_is_a_clear_error():
    model = nn.Module()
    model.generator = nn.Linear(1, 1)
    with pytest.raises(AttributeError, match='discriminator'):
        build_optim_wrapper(model, dict(constructor='TTUROptimWrapperConstructor'))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='AmpOptimWrapper needs CUDA')
def test_amp_wrappers():
    wrappers = build(type='AmpOptimWrapper', loss_scale='dynamic')
    assert all(isinstance(w, AmpOptimWrapper) for w in wrappers.values())
