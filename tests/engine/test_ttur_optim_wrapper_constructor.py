import os.path as osp

import mmagic
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict, build_optim_wrapper
from torch import nn

from sagan_plugin.engine.channels_last_adam import ChannelsLastAdam
from sagan_plugin.registry import OPTIM_WRAPPERS


class TwoNets(nn.Module):

    def __init__(self):
        super().__init__()
        self.generator, self.discriminator = nn.Linear(2, 2), nn.Linear(2, 1)


@OPTIM_WRAPPERS.register_module()
class TaggedOptimWrapper(OptimWrapper):
    """A wrapper type registered in our scope with a key of its own, as a CPU bf16 wrapper will be."""

    def __init__(self, tag: str, **kwargs):
        super().__init__(**kwargs)
        self.tag = tag


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
    assert all(type(w) is OptimWrapper and type(w.optimizer) is ChannelsLastAdam for w in wrappers.values())
    assert adam_settings(wrappers) == dict(generator=(1e-4, (0.0, 0.9)), discriminator=(4e-4, (0.0, 0.9)))
    assert all(w.optimizer.param_groups[0]['fused'] for w in wrappers.values())  # one kernel per step
    assert not any(w.optimizer.param_groups[0]['fused'] for w in build(fused=False).values())


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


def test_mmagic_form_any_optimizer_and_per_network_wrapper_keys():
    wrappers = build(
        clip_grad=dict(max_norm=10.0),  # top level: both networks
        generator=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.5), clip_grad=dict(max_norm=1.0)),
        discriminator=dict(optimizer=dict(type='AdamW', lr=3e-4, betas=[0, 0.99]), accumulative_counts=2))
    g, d = wrappers['generator'], wrappers['discriminator']
    assert type(g.optimizer) is torch.optim.SGD and g.param_groups[0]['momentum'] == 0.5
    assert type(d.optimizer) is torch.optim.AdamW and adam_settings(dict(d=d)) == dict(d=(3e-4, (0.0, 0.99)))
    assert g.clip_grad_kwargs == dict(max_norm=1.0) and d.clip_grad_kwargs == dict(max_norm=10.0)
    assert (g._accumulative_counts, d._accumulative_counts) == (1, 2)


def test_mmagic_form_leaves_out_a_network_that_then_gets_the_papers_adam():
    wrappers = build(discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
    assert adam_settings(wrappers) == dict(generator=(1e-4, (0.0, 0.9)), discriminator=(2e-4, (0.5, 0.999)))


def test_mmagic_own_sagan_config_builds_what_mmagic_builds():
    """mmagic's ImageNet SAGAN config, unchanged, gives the same optimizers as mmagic's own constructor."""
    path = osp.join(
        osp.dirname(mmagic.__file__), '.mim', 'configs', 'sagan',
        'sagan_woReLUinplace_Glr1e-4_Dlr4e-4_ndisc1-4xb64_imagenet1k-128x128.py')
    optim_wrapper = Config.fromfile(path).optim_wrapper
    ours = build_optim_wrapper(TwoNets(), dict(optim_wrapper, constructor='TTUROptimWrapperConstructor'))
    theirs = build_optim_wrapper(TwoNets(), dict(optim_wrapper, constructor='MultiOptimWrapperConstructor'))
    assert adam_settings(ours) == adam_settings(theirs) == dict(
        generator=(1e-4, (0.0, 0.999)), discriminator=(4e-4, (0.0, 0.999)))
    assert [type(w) for w in ours.values()] == [type(w) for w in theirs.values()]


@pytest.mark.parametrize('form', [
    dict(type='TaggedOptimWrapper', tag='both'),
    dict(type='TaggedOptimWrapper', tag='both', generator=dict(optimizer=dict(type='Adam', lr=1e-4))),
])
def test_a_registered_wrapper_type_and_its_keys_reach_both_networks(form):
    wrappers = build(**form)
    assert all(type(w) is TaggedOptimWrapper and w.tag == 'both' for w in wrappers.values())


@pytest.mark.parametrize('cfg, error, match', [
    (dict(betas=(0.0, 1.5)), ValueError, 'betas'),
    (dict(optimizer=dict(type='SGD')), KeyError, 'generator_lr'),
    (dict(no_such_key=1), TypeError, 'no_such_key'),
    (dict(betas=(0.0, 0.9, 0.99)), ValueError, r'optim_wrapper\.betas must be two numbers'),
    (dict(betas='0.9'), ValueError, r'optim_wrapper\.betas'),
    (dict(generator_lr='1e-4'), ValueError, r'optim_wrapper\.generator_lr'),
    (dict(fused='yes'), ValueError, r'optim_wrapper\.fused must be True or False'),
    (dict(generator_lr=2e-4, discriminator=dict(optimizer=dict(type='Adam'))), ValueError,
     r'mixes the short form \(generator_lr\) with mmagic.s form \(discriminator=.*_delete_=True'),
    (dict(generator=dict(optimizer=dict(type='Adam', betas=(-0.1, 0.9)))), ValueError,
     r'optim_wrapper\.generator\.optimizer\.betas'),
    (dict(discriminator=dict(optimizer=dict(lr=1e-4))), KeyError, r'optim_wrapper\.discriminator\.optimizer '
     'needs a "type"'),
    (dict(generator=0.1), TypeError, r'optim_wrapper\.generator must be a dict'),
    (dict(generator=dict(optimizer=dict(type='Adam'), no_such_key=1)), TypeError, 'no_such_key'),
])
def test_bad_config_is_a_clear_error(cfg, error, match):
    with pytest.raises(error, match=match):
        build(**cfg)


def test_model_without_discriminator_is_a_clear_error():
    model = nn.Module()
    model.generator = nn.Linear(1, 1)
    with pytest.raises(AttributeError, match='discriminator'):
        build_optim_wrapper(model, dict(constructor='TTUROptimWrapperConstructor'))


def test_amp_wrappers():  # on CPU too: our AmpOptimWrapper (engine/amp_optim_wrapper.py) runs bf16 there
    wrappers = build(type='AmpOptimWrapper', loss_scale='dynamic')
    assert all(isinstance(w, AmpOptimWrapper) for w in wrappers.values())
    wrappers = build(generator=dict(type='AmpOptimWrapper', optimizer=dict(type='Adam', lr=1e-4)))
    assert isinstance(wrappers['generator'], AmpOptimWrapper) and type(
        wrappers['discriminator']) is OptimWrapper
