"""Our types resolve in the three ways the README shows, and never displace mmagic's."""
import inspect

import pytest
import torch
from mmagic import registry as mmagic_registry
from mmengine.registry import DefaultScope
from PIL import Image

from sagan_plugin import registry

OURS = 'sagan_plugin.'
# Constructor arguments for types that cannot be built from their type name alone.
REQUIRED_ARGS = {
    'SAGAN':
    dict(
        generator=dict(type='SAGANGenerator', output_scale=32, base_channels=4, attention_at=()),
        discriminator=dict(type='SAGANDiscriminator', input_scale=32, base_channels=4, attention_at=())),
    'SelfAttentionBlock':
    dict(in_channels=16),
    'DecayEMA':
    dict(model=dict(type='SAGANGenerator', output_scale=32, base_channels=4, attention_at=())),
    'TTUROptimWrapperConstructor':
    dict(optim_wrapper_cfg=dict()),
    'ImageNet':
    dict(data_root='data/imagenet', ann_file='meta/train.txt', lazy_init=True),
    'AmpOptimWrapper':
    dict(optimizer=torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))],
                                   lr=0.1)),  # a built optimizer, as MMEngine passes
    'ChannelsLastAdam':
    dict(params=[torch.nn.Parameter(torch.zeros(1))]),
    'FashionMNIST':
    dict(num_samples=2),
    'OfflineFID':
    dict(fake_nums=10),
    'PerClassFID':
    dict(fake_nums=10),
    'ClassifierScore':
    dict(fake_nums=10),
    'OfflineIS':
    dict(fake_nums=10, download=False),
}
# Types that need a file no package ships: building them must fail with an error naming the file.
# download=False: a missing file would otherwise be fetched from its published URL (tests download nothing).
NEEDS_USER_FILE = {'OfflineIS': 'weights-inception-2015-12-05-6726825d.pth'}


def our_types():
    """(registry, name) for every type the package registers in scope sagan_plugin (not types that other
    test modules register for themselves, which may or may not be imported before this one)."""
    return [(reg, name) for reg in vars(registry).values() if isinstance(reg, type(registry.MODELS))
            for name in sorted(reg.module_dict)
            if reg.module_dict[name].__module__.startswith('sagan_plugin')]


@pytest.mark.parametrize('reg, name', our_types(), ids=lambda x: getattr(x, 'name', x))
def test_every_registered_type_builds_from_a_config_dict(reg, name, tmp_path):
    args = dict(REQUIRED_ARGS.get(name, {}))
    if name == 'DecayEMA':
        args['model'] = registry.MODELS.build(args['model'])
    if name in ('ImageFolder', 'ClassBalancedInfiniteSampler'):  # a folder of two classes, one image each
        for cls in ('a', 'b'):
            (tmp_path / cls).mkdir()
            Image.new('RGB', (8, 8)).save(tmp_path / cls / 'x.png')
        args['data_root'], args['image_size'] = str(tmp_path), 8
        if name == 'ClassBalancedInfiniteSampler':
            args = dict(dataset=registry.DATASETS.build(dict(type='ImageFolder', **args)), seed=0)
    if name in NEEDS_USER_FILE:
        with pytest.raises(FileNotFoundError, match=NEEDS_USER_FILE[name]):
            reg.build(dict(type=name, **args, inception_path=str(tmp_path / NEEDS_USER_FILE[name])))
        return
    built = reg.build(dict(type=name, **args))
    assert type(built).__name__ == name and type(built).__module__.startswith(OURS)


def test_our_registries_are_children_of_mmagic():
    for reg in vars(registry).values():
        if isinstance(reg, type(registry.MODELS)):
            assert reg.scope == 'sagan_plugin' and reg.parent is getattr(mmagic_registry, reg.name.upper(),
                                                                         reg.parent)
            assert reg.parent.scope == 'mmagic'


def test_plugin_scope_builds_ours_and_falls_through_to_mmagic():
    gen = registry.MODELS.build(
        dict(type='SAGANGenerator', output_scale=32, base_channels=4, attention_at=()))
    assert type(gen).__module__.startswith(OURS)
    preprocessor = registry.MODELS.build(dict(type='DataPreprocessor'))
    assert type(preprocessor).__module__.startswith('mmagic.')
    assert inspect.getmodule(registry.HOOKS.get('VisualizationHook')).__name__.startswith('mmagic.')
    assert inspect.getmodule(registry.METRICS.get('FrechetInceptionDistance')).__name__.startswith('mmagic.')
    mmagic_gen = registry.MODELS.build(
        dict(type='mmagic.SAGANGenerator', output_scale=32, base_channels=32, num_classes=10))
    assert type(mmagic_gen).__module__.startswith('mmagic.')


def test_mmagic_scope_builds_ours_by_prefix_and_keeps_its_own():
    with DefaultScope.overwrite_default_scope('mmagic'):
        ours = mmagic_registry.MODELS.build(
            dict(type='sagan_plugin.SAGANGenerator', output_scale=32, base_channels=4, attention_at=()))
        theirs = mmagic_registry.MODELS.build(
            dict(type='SAGANGenerator', output_scale=32, base_channels=32, num_classes=10))
    assert type(ours).__module__.startswith(OURS)
    assert type(theirs).__module__.startswith('mmagic.')
    for name in ('SAGAN', 'SAGANGenerator', 'SelfAttentionBlock'):
        assert mmagic_registry.MODELS.module_dict[name].__module__.startswith('mmagic.')


def test_unknown_type_is_a_clear_error():
    with pytest.raises(KeyError, match='SAGANGenrator is not in the'):
        registry.MODELS.build(dict(type='SAGANGenrator'))


def test_wrong_config_key_is_a_clear_error():
    with pytest.raises(TypeError, match='attenton_at'):
        registry.MODELS.build(dict(type='SAGANGenerator', output_scale=32, attenton_at=(16, )))
