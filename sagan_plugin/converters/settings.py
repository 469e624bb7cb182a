"""The settings that change what a SAGAN computes but are not in its weights, named as in our configs.

A checkpoint's keys and shapes give the channel tables, the attention positions and the number of classes;
they say nothing of BatchNorm ε, SN ε, the discriminator's ReLU shortcut, the output channel order or how
conditional BN applies its gain. Those are read here from built networks, ours
(:func:`our_settings`) and the peer's (``mmagic_config.mmagic_settings``), in one vocabulary, so
:func:`mismatches` can name each one that differs.
"""
from typing import Dict, List, Optional, Tuple

from torch import nn

from sagan_plugin.compat import spectral_norm_hooks
from sagan_plugin.models.standing_stats import BATCH_NORMS
from .convert import ConversionError

Settings = Dict[str, object]

# What a bare checkpoint cannot tell (its keys show channels, attention, classes and SN on the embeddings).
INVISIBLE = {
    'model.discriminator.relu_shortcut': "an in-place ReLU in D's blocks that also feeds the shortcut",
    'model.generator.rgb_to_bgr': 'the order of the output channels',
    'model.generator.norm_eps': 'BatchNorm epsilon',
    'model.generator.sn_eps': 'spectral norm epsilon (G)',
    'model.discriminator.sn_eps': 'spectral norm epsilon (D)',
    'model.generator.cbn_gain': "conditional BN's gain: 1 + embedding, or the embedding alone",
    'model.ema_config': 'the EMA generator update',
}
# Our conditional BN computes BN(x) * (1 + gain[y]) + bias[y]; there is no switch for the other form.
OUR_CBN_GAIN = '1 + embedding'


def sn_eps_of(modules: List[nn.Module]) -> Tuple[float, ...]:
    """The distinct ε of the SN hooks on ``modules`` (and their children), sorted."""
    return tuple(
        sorted({hook.eps
                for module in modules
                for m in module.modules()
                for hook in spectral_norm_hooks(m)}))


def bn_eps_of(module: nn.Module) -> Tuple[float, ...]:
    """The distinct ε of the BatchNorm layers in ``module``, sorted."""
    return tuple(sorted({m.eps for m in module.modules() if isinstance(m, BATCH_NORMS)}))


def ema_summary(ema: Optional[nn.Module], start_iter: int) -> Optional[tuple]:
    """An EMA wrapper (mmagic's ``ExponentialMovingAverage`` or a subclass) as (weight of the new value m,
    interval, start_iter, what happens to the buffers); None without EMA."""
    if ema is None:
        return None
    buffers = 'all averaged' if ema.update_buffers else \
        'BN statistics averaged' if getattr(ema, 'bn_stats', 'copy') == 'average' else 'copied'
    return (round(float(ema.momentum), 12), int(ema.interval), int(start_iter), buffers)


def attention_positions(net) -> Tuple[str, ...]:
    """Where our network's attention blocks sit: ``'after block i (R px)'`` per attention block."""
    return tuple(f'after block {i} ({plan.resolution} px)'
                 for i, (plan, key) in enumerate(zip(net.plans, net.attention_after)) if key is not None)


def _variants(net) -> Tuple[str, ...]:
    return tuple(sorted({getattr(a, 'variant', 'residual') for a in net.attention.values()}))


def our_settings(model: nn.Module) -> Settings:
    """The function-changing settings of our built SAGAN ``model``."""
    g, d = model.generator, model.discriminator
    gain = [m for m in g.modules() if hasattr(m, 'gain') and hasattr(m, 'num_classes')]
    return {
        'model.generator.num_classes': g.num_classes,
        'model.discriminator.num_classes': d.num_classes,
        'model.generator.noise_size': g.noise_size,
        'model.generator.output_scale': g.output_scale,
        'model.discriminator.input_scale': d.input_scale,
        'model.generator.channels': tuple(g.channels),
        'model.discriminator.channels': tuple(p.out_channels for p in d.plans),
        'model.discriminator.downsample': tuple(bool(p.resample) for p in d.plans),
        'model.generator.attention': attention_positions(g),
        'model.discriminator.attention': attention_positions(d),
        'model.generator.attention_variant': _variants(g),
        'model.discriminator.attention_variant': _variants(d),
        'model.generator.norm_eps': bn_eps_of(g),
        'model.generator.sn_eps': sn_eps_of([g]),
        'model.discriminator.sn_eps': sn_eps_of([d]),
        'model.generator.sn_embedding': bool(gain) and hasattr(gain[0].gain, 'weight_orig'),
        'model.generator.cbn_gain': OUR_CBN_GAIN if gain else None,
        'model.generator.rgb_to_bgr': bool(g.rgb_to_bgr),
        'model.discriminator.relu_shortcut': any(b.relu_shortcut for b in d.blocks),
        'model.ema_config':
        ema_summary(getattr(model, 'generator_ema', None), getattr(model, 'ema_start', 0)),
    }


def mismatches(ours: Settings, peer: Settings) -> List[str]:
    """One line per setting whose values differ: ``name: config X, checkpoint's origin Y``."""
    return [
        f'  {k}: the config has {ours.get(k)!r}, the checkpoint was made with {v!r}' for k, v in peer.items()
        if ours.get(k) != v
    ]


def check_settings(ours: Settings, peer: Settings, config: str, origin: str) -> None:
    """Raise a ConversionError listing every setting in which ``config`` (our config) and ``origin`` (the
    peer's config) disagree; nothing is converted then."""
    lines = mismatches(ours, peer)
    if lines:
        raise ConversionError(
            f'{config} computes another function than {origin}; the settings that differ:\n' +
            '\n'.join(lines) + '\nLeave out --config to derive our config from ' + origin +
            ', or fix these settings.')


def unverified_message(what: str) -> str:
    """Why a checkpoint with no config of its origin is refused, and how to give one."""
    lines = '\n'.join(f'  {k}: {v}' for k, v in INVISIBLE.items())
    return (
        f'{what} carries no config (no meta.cfg) and none was given, so these settings, which change '
        f'the function but are not in the weights, cannot be verified against --config:\n{lines}\n'
        "Give the checkpoint's config with --peer-config (a path, or a name of mmagic's model zoo such as "
        'sagan_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32), or pass --unverified to convert with '
        '--config as it is.')
