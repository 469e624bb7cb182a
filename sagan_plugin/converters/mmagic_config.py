"""mmagic's SAGAN config → its function-changing settings → our config reproducing it.

:func:`peer_config` finds mmagic's config (a path, a name of mmagic's model zoo, or the ``meta.cfg`` text that
mmagic's runner writes into every checkpoint). :func:`mmagic_settings` builds mmagic's own model from it
through mmagic's registry (on the meta device: no memory, no initialisation cost) and reads the settings off
the built modules, so mmagic's defaults are the ones its code applies, not a copy of them. Two readings:

* SN ε is the one mmagic passes to its residual blocks (``sn_eps``); its linear, ``to_rgb``, ``from_rgb``,
  projection and attention layers keep torch's or their own default (1e-12, 1e-6). ε only floors the norm
  of the power iteration's vectors (~1 for trained weights), so these differences change no float32 output.
* The in-place ReLU matters only in D's pre-activation blocks, where it also rewrites the shortcut's input
  (our ``relu_shortcut``); in G every ReLU acts on a BatchNorm output no other branch reads.
"""
import glob
import os.path as osp
from typing import Tuple

import torch
from mmengine.config import Config
from torch import nn

from .convert import ConversionError
from .settings import OUR_CBN_GAIN, Settings, bn_eps_of, ema_summary, sn_eps_of

_INIT = {'STUDIO': 'ortho', 'BIGGAN': 'xavier'}  # mmagic init_cfg type -> ours, for training on


def mmagic_config_dir() -> str:
    """mmagic's installed configs (``mmagic/.mim/configs``)."""
    import mmagic
    return osp.join(osp.dirname(mmagic.__file__), '.mim', 'configs')


def peer_config(spec: str) -> Tuple[Config, str]:
    """(mmagic's config, its name) from a file path or a model-zoo name (``.py`` optional).

    Raises:
        ConversionError: neither a file nor a config of mmagic's model zoo; lists the SAGAN ones.
    """
    if osp.isfile(spec):
        return Config.fromfile(spec), osp.splitext(osp.basename(spec))[0]
    name = osp.basename(spec[:-3] if spec.endswith('.py') else spec)
    found = sorted(glob.glob(osp.join(mmagic_config_dir(), '*', name + '.py')))
    if not found:
        known = sorted(
            osp.basename(p)[:-3] for p in glob.glob(osp.join(mmagic_config_dir(), 'sagan', '*.py')))
        raise ConversionError(f'--peer-config {spec!r} is neither a file nor a config of mmagic\'s model zoo '
                              f'({mmagic_config_dir()}); its SAGAN configs: {", ".join(known)}')
    return Config.fromfile(found[0]), name


def config_from_meta(meta: dict, what: str) -> Config:
    """The config mmagic's runner saved in a checkpoint's ``meta.cfg`` (MMEngine writes the config's text)."""
    try:
        return Config.fromstring(meta['cfg'], file_format='.py')
    except Exception as err:  # any parse error: name the file and the key
        raise ConversionError(f'{what}: meta.cfg is not a readable config ({type(err).__name__}: {err}); '
                              'give the config with --peer-config') from None


def build_mmagic_model(cfg: Config) -> nn.Module:
    """mmagic's model of ``cfg`` built by mmagic's registry, on the meta device (shapes and settings only)."""
    import mmagic.models  # noqa: F401  (registers mmagic's networks)
    from mmagic.registry import MODELS
    model_cfg = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
    with torch.device('meta'):
        return MODELS.build(dict(model_cfg, _scope_='mmagic'))


def _unsupported(name: str, what: str) -> ConversionError:
    return ConversionError(f'mmagic config {name}: {what}; our networks do not reproduce it')


def _relus(modules, name: str) -> list:
    """The ``activate`` modules of mmagic blocks, each checked to be a ReLU."""
    acts = [m.activate for m in modules]
    if not all(isinstance(a, nn.ReLU) for a in acts):
        raise _unsupported(name, f'activation {sorted({type(a).__name__ for a in acts})}, not ReLU')
    return acts


def _generator_settings(g: nn.Module, name: str) -> Settings:
    from mmagic.models.editors.biggan.biggan_modules import SelfAttentionBlock
    from mmagic.models.editors.sagan import SNGANGenerator, SNGANGenResBlock
    if not isinstance(g, SNGANGenerator) or g.input_scale != 4:
        raise _unsupported(name,
                           f'generator {type(g).__name__} (input_scale {getattr(g, "input_scale", "?")})')
    res, widths, attention = 4, [g.noise2feat.out_features // 16], []
    for m in g.conv_blocks:
        if isinstance(m, SNGANGenResBlock) and m.with_upsample:
            res, widths = res * 2, widths + [m.conv_2.conv.out_channels]
        elif isinstance(m, SelfAttentionBlock):
            attention.append(f'after block {len(widths) - 2} ({res} px)')
        else:
            raise _unsupported(name, f'generator block {type(m).__name__} (or one that does not upsample)')
    blocks = [m for m in g.conv_blocks if isinstance(m, SNGANGenResBlock)]
    _relus(blocks, name)
    norms = [m for b in blocks for m in (b.norm_1, b.norm_2) if m.use_cbn]
    return {
        'model.generator.num_classes': g.num_classes if norms else 0,
        'model.generator.output_scale': g.output_scale,
        'model.generator.noise_size': g.noise_size,
        'model.generator.channels': tuple(widths),
        'model.generator.attention': tuple(attention),
        'model.generator.attention_variant': ('pooled', ) if attention else (),
        'model.generator.norm_eps': bn_eps_of(g),
        'model.generator.sn_eps': sn_eps_of(blocks),
        'model.generator.sn_embedding': bool(norms) and hasattr(norms[0].weight_embedding, 'weight_orig'),
        'model.generator.cbn_gain':
        (OUR_CBN_GAIN if norms[0].reweight_embedding else 'embedding') if norms else None,
        'model.generator.rgb_to_bgr': bool(g.rgb_to_bgr),
    }


def _discriminator_settings(d: nn.Module, input_scale: int, name: str) -> Settings:
    from mmagic.models.editors.biggan.biggan_modules import SelfAttentionBlock
    from mmagic.models.editors.sagan import ProjDiscriminator, SNGANDiscHeadResBlock, SNGANDiscResBlock
    if not isinstance(d, ProjDiscriminator) or not isinstance(d.from_rgb, SNGANDiscHeadResBlock):
        raise _unsupported(name, f'discriminator {type(d).__name__}')
    res, widths, down, attention = input_scale // 2, [d.from_rgb.conv_2.conv.out_channels], [True], []
    for m in d.conv_blocks:
        if isinstance(m, SNGANDiscResBlock):
            res = res // 2 if m.with_downsample else res
            widths, down = widths + [m.conv_2.conv.out_channels], down + [bool(m.with_downsample)]
        elif isinstance(m, SelfAttentionBlock):
            attention.append(f'after block {len(widths) - 1} ({res} px)')
        else:
            raise _unsupported(name, f'discriminator block {type(m).__name__}')
    blocks = [m for m in d.conv_blocks if isinstance(m, SNGANDiscResBlock)]
    inplace = {a.inplace for a in _relus(blocks, name)}
    if len(inplace) > 1:
        raise _unsupported(name, 'in-place ReLU in some discriminator blocks only')
    return {
        'model.discriminator.num_classes': d.num_classes,
        'model.discriminator.input_scale': input_scale,
        'model.discriminator.channels': tuple(widths),
        'model.discriminator.downsample': tuple(down),
        'model.discriminator.attention': tuple(attention),
        'model.discriminator.attention_variant': ('pooled', ) if attention else (),
        'model.discriminator.sn_eps': sn_eps_of(blocks),
        'model.discriminator.relu_shortcut': inplace == {True},
    }


def mmagic_settings(cfg: Config, name: str) -> Tuple[Settings, nn.Module]:
    """The function-changing settings of mmagic's SAGAN config ``cfg`` (in :mod:`.settings`' vocabulary) and
    mmagic's model built from it (meta device).

    Raises:
        ConversionError: the config is not an mmagic SAGAN/SNGAN-Proj of torch-style SN and ReLUs, which
            our networks reproduce.
    """
    model = build_mmagic_model(cfg)
    settings = {
        **_generator_settings(model.generator, name),
        **_discriminator_settings(model.discriminator, cfg.model.discriminator['input_scale'], name)
    }
    ema = getattr(model, 'generator_ema', None)
    if ema is not None and not hasattr(ema, 'momentum'):
        raise _unsupported(name, f'EMA {type(ema).__name__} (only ExponentialMovingAverage is converted)')
    settings['model.ema_config'] = ema_summary(ema, getattr(model, 'ema_start', 0))
    for key in ('model.generator.sn_eps', 'model.discriminator.sn_eps', 'model.generator.norm_eps'):
        if len(settings[key]) != 1:  # empty: no torch-style SN (ajbrock's u0/sv0 are another layout)
            raise _unsupported(name, f'{key} {settings[key]} (one torch-style value expected)')
    return settings, model


def our_model_config(settings: Settings, mmagic_model: nn.Module, template_model: dict) -> dict:
    """Our ``model`` config reproducing ``settings`` (from :func:`mmagic_settings`); the data preprocessor
    and anything not set here come from ``template_model`` (our config of the same resolution)."""
    g, d, s = mmagic_model.generator, mmagic_model.discriminator, settings

    def resolutions(key: str) -> tuple:  # 'after block i (R px)' -> R
        return tuple(int(a.split('(')[1].split()[0]) for a in s[key])

    generator = dict(
        type='SAGANGenerator',
        output_scale=g.output_scale,
        num_classes=s['model.generator.num_classes'],
        noise_size=s['model.generator.noise_size'],
        channels=s['model.generator.channels'],
        attention_at=resolutions('model.generator.attention'),
        attention_variant='pooled',  # mmagic's SelfAttentionBlock: theta/phi C/8, g C/2, 2x2 max-pooled keys
        norm_eps=s['model.generator.norm_eps'][0],
        sn_eps=s['model.generator.sn_eps'][0],
        sn_embedding=s['model.generator.sn_embedding'],
        rgb_to_bgr=s['model.generator.rgb_to_bgr'],
        upsampled_conv=False,  # mmagic's order of operations (see channels_last below)
        init_type=_INIT.get(str(g.init_type).upper(), 'ortho'))
    discriminator = dict(
        type='SAGANDiscriminator',
        input_scale=s['model.discriminator.input_scale'],
        num_classes=s['model.discriminator.num_classes'],
        channels=s['model.discriminator.channels'],
        attention_at=resolutions('model.discriminator.attention'),
        attention_variant='pooled',
        relu_shortcut=s['model.discriminator.relu_shortcut'],
        sn_eps=s['model.discriminator.sn_eps'][0],
        pooled_conv=False,
        init_type=_INIT.get(str(d.init_type).upper(), 'ortho'))
    ema = s['model.ema_config']
    return dict(
        template_model,
        num_classes=s['model.discriminator.num_classes'],
        generator=generator,
        discriminator=discriminator,
        # Fused up/down-sampling convs and channels-last are the same function rounded differently, which
        # training-mode BN amplifies past 1e-5 at 128 px (docs/converting.md): mmagic's order by default.
        channels_last=False,
        generator_steps=int(mmagic_model.generator_steps),
        discriminator_steps=int(mmagic_model.discriminator_steps),
        # mmagic's own EMA class: momentum is the weight of the new value, as in the checkpoint's run
        ema_config=None if ema is None else dict(
            type='mmagic.ExponentialMovingAverage',
            momentum=ema[0],
            interval=ema[1],
            start_iter=ema[2],
            update_buffers=ema[3] == 'all averaged'))
