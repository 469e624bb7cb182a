"""The two training configs of the parity experiment (tools/experiments/parity.py), equal but in the model.

* ours: ``configs/sagan_mmagic_cifar10_32.py`` (our networks computing mmagic's CIFAR SAGAN's function), in
  scope ``sagan_plugin``;
* mmagic: the ``model`` section of mmagic 1.2's ``sagan_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32``
  (mmagic's ``SAGAN``, ``SAGANGenerator``, ``ProjDiscriminator`` and ``train_step``), in scope ``mmagic``.

Everything else is one dict given to both: the demo's data (Fashion-MNIST at 32 px, 3 identical channels),
batch, learning rates and betas, its discriminator steps, its EMA decay and start as mmagic's own
``ExponentialMovingAverage`` (buffers copied), our runtime (hooks, logging, seed), fp32, the same iterations,
and one width for every block of G and D on both sides. Our types in the shared part are named with their
scope (``sagan_plugin.FashionMNIST``) in mmagic's config, so both sides build the very same components.
"""
import copy
import os.path as osp

import mmagic
from mmengine.config import Config

import sagan_plugin.datasets  # noqa: F401  (registers the data types the configs name)
import sagan_plugin.engine  # noqa: F401  (registers the hooks)
from sagan_plugin import registry
from sagan_plugin.converters.mmagic_config import mmagic_settings
from sagan_plugin.converters.settings import check_settings, our_settings

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs', 'sagan_demo_fashion32.py')
OURS = osp.join(REPO, 'configs', 'sagan_mmagic_cifar10_32.py')
MMAGIC_NAME = 'sagan_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32'
MMAGIC = osp.join(osp.dirname(mmagic.__file__), '.mim', 'configs', 'sagan', MMAGIC_NAME + '.py')
OUR_REGISTRIES = [
    getattr(registry, name) for name in ('DATASETS', 'TRANSFORMS', 'DATA_SAMPLERS', 'HOOKS', 'VISUALIZERS',
                                         'VISBACKENDS', 'LOG_PROCESSORS')
]


def recipe(demo: Config) -> dict:
    """The demo's optimizer, discriminator steps and EMA (decay, start) in the terms both sides take."""
    ema = demo.model.ema_config
    return dict(
        generator_lr=demo.optim_wrapper.generator_lr,
        discriminator_lr=demo.optim_wrapper.discriminator_lr,
        betas=tuple(demo.optim_wrapper.betas),
        discriminator_steps=demo.model.discriminator_steps,
        # mmagic's momentum is the weight of the new value: decay 0.99 -> 0.01; buffers copied on both sides
        ema_config=dict(
            momentum=round(1.0 - ema.decay, 12), interval=1, update_buffers=False, start_iter=ema.start_iter))


def shared(demo: Config, ours: Config, iters: int, interval: int) -> dict:
    """Everything but the model and the optimizer form: the demo's data, our runtime, no evaluation while
    training (checkpoints every ``interval`` iterations, all kept, are scored afterwards)."""
    hooks = copy.deepcopy(ours.default_hooks.to_dict())
    hooks['checkpoint'].update(interval=interval, max_keep_ckpts=-1)
    hooks['logger'].update(interval=min(50, interval))
    return dict(
        train_dataloader=demo.train_dataloader.to_dict(),
        train_cfg=dict(by_epoch=False, max_iters=iters),
        default_hooks=hooks,
        custom_hooks=[],
        val_dataloader=None,
        val_evaluator=None,
        val_cfg=None,
        test_dataloader=None,
        test_evaluator=None,
        test_cfg=None,
        auto_scale_lr=None)


def ours_config(width: int, iters: int, interval: int) -> Config:
    demo, cfg = Config.fromfile(DEMO), Config.fromfile(OURS)
    steps = recipe(demo)
    for key, value in shared(demo, cfg, iters, interval).items():  # each replaced whole, not merged
        cfg[key] = value
    for key in [k for k in cfg if k.startswith('cifar_')]:  # the CIFAR evaluation's helper variables
        cfg.pop(key)
    cfg.model.generator.channels = (width, ) * 4  # mmagic base_channels=W: W at 4, 8, 16 and 32 px
    cfg.model.discriminator.channels = (width, ) * 4
    cfg.model.discriminator_steps = steps['discriminator_steps']
    cfg.model.ema_config = dict(type='mmagic.ExponentialMovingAverage', **steps['ema_config'])
    cfg.optim_wrapper = dict(
        constructor='TTUROptimWrapperConstructor',
        generator_lr=steps['generator_lr'],
        discriminator_lr=steps['discriminator_lr'],
        betas=steps['betas'])
    return cfg


def scoped(value):
    """``value`` with every ``type`` that names one of our registered components prefixed by our scope."""
    if isinstance(value, dict):
        found = isinstance(value.get('type'), str) and '.' not in value['type'] and any(
            value['type'] in r.module_dict for r in OUR_REGISTRIES)
        return {k: f'{registry.SCOPE}.{v}' if k == 'type' and found else scoped(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scoped(v) for v in value)
    return value


def mmagic_config(ours: Config, width: int) -> Config:
    """mmagic's model section at ``width`` with ``ours``' recipe; the rest of ``ours`` in mmagic's scope."""
    steps = recipe(Config.fromfile(DEMO))
    model = Config.fromfile(MMAGIC).model.to_dict()
    model['generator']['base_channels'] = model['discriminator']['base_channels'] = width
    model.update(
        discriminator_steps=steps['discriminator_steps'],
        ema_config=dict(type='ExponentialMovingAverage', **steps['ema_config']))
    rest = {k: v for k, v in ours.to_dict().items() if k not in ('model', 'optim_wrapper', 'default_scope')}
    adam = [
        dict(optimizer=dict(type='Adam', lr=steps[f'{net}_lr'], betas=steps['betas']))
        for net in ('generator', 'discriminator')
    ]
    return Config(
        dict(
            scoped(rest),
            default_scope='mmagic',
            model=model,
            optim_wrapper=dict(
                constructor='MultiOptimWrapperConstructor', generator=adam[0], discriminator=adam[1])))


def check_same_function(ours: Config, peer: Config) -> None:
    """Refuse (ConversionError naming each setting) unless our model computes mmagic's function: the
    converter's comparison of every setting that changes the function but not the weights, and shapes."""
    from mmengine.registry import DefaultScope
    settings, _ = mmagic_settings(peer, MMAGIC_NAME)
    model = copy.deepcopy(ours.model.to_dict())
    for net in ('generator', 'discriminator'):
        model[net]['init_type'] = 'xavier'  # only the settings are read
    with DefaultScope.overwrite_default_scope(registry.SCOPE):
        built = registry.MODELS.build(model)
    check_settings(our_settings(built), settings, 'the parity config of ours', f"mmagic's {MMAGIC_NAME}")


def write_configs(folder: str, width: int, iters: int, interval: int) -> dict:
    """side -> path of its training config, written into ``folder`` after the two are checked equal."""
    ours = ours_config(width, iters, interval)
    peer = mmagic_config(ours, width)
    check_same_function(ours, peer)
    paths = {}
    for side, cfg in (('ours', ours), ('mmagic', peer)):
        paths[side] = osp.join(folder, f'{side}_w{width}.py')
        cfg.dump(paths[side])
    return paths
