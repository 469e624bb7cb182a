"""Our config for a converted mmagic checkpoint: the model section from mmagic's settings, the rest (data,
evaluation, schedule, runtime) from our config of the same resolution, written as one self-contained file.

Self-contained (``_base_`` resolved, no relative path) because it travels with the checkpoint: ``OUT.py``
beside ``OUT.pth`` must load wherever the pair is copied, with or without this repository's ``configs/``.
"""
import os.path as osp
from typing import Tuple

from mmengine.config import Config
from torch import nn

from .convert import ConversionError
from .mmagic_config import our_model_config
from .settings import Settings

# output resolution -> (our config whose data, evaluation and schedule are mmagic's, where its data lives)
TEMPLATES = {
    32: ('sagan_mmagic_cifar10_32.py', 'CIFAR-10 pickles under data/cifar10/cifar-10-batches-py'),
    128:
    ('sagan_mmagic_imagenet128.py', 'ImageNet under data/imagenet (train/<wnid>/*.JPEG, meta/train.txt)'),
}


def our_config_dir() -> str:
    """Our configs: ``sagan_plugin/.mim/configs`` in an installed package, else the repository's."""
    import sagan_plugin
    package = osp.dirname(osp.abspath(sagan_plugin.__file__))
    for folder in (osp.join(package, '.mim', 'configs'), osp.join(osp.dirname(package), 'configs')):
        if osp.isdir(folder):
            return folder
    raise FileNotFoundError(f'no configs folder beside {package} (looked for .mim/configs and ../configs)')


def _template(scale: int, origin: str) -> Tuple[str, str]:
    if scale not in TEMPLATES:
        raise ConversionError(f'{origin}: {scale}x{scale} images, but our configs with mmagic\'s data and '
                              f'evaluation exist for {sorted(TEMPLATES)} px; give --config')
    name, data = TEMPLATES[scale]
    return osp.join(our_config_dir(), name), data


def _use_ema_for_metrics(cfg: Config) -> None:
    """With an EMA generator the metrics score it, as mmagic's EMA configs do (``sample_model='ema'``)."""
    for key in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(key)
        metrics = evaluator.get('metrics', []) if isinstance(evaluator, dict) else []
        for metric in metrics if isinstance(metrics, list) else [metrics]:
            if 'sample_model' in metric:
                metric['sample_model'] = 'ema'


def _optimizers_from(peer_cfg: Config, cfg: Config) -> None:
    """mmagic's Adam lrs and betas (the same betas for G and D) in our short form; left as the template's
    when the peer has none (mmagic's converted configs set ``optim_wrapper = None``)."""
    peer = peer_cfg.get('optim_wrapper') or {}
    opts = [(peer.get(net) or {}).get('optimizer') or {} for net in ('generator', 'discriminator')]
    if all(o.get('type') == 'Adam' and 'lr' in o
           for o in opts) and opts[0].get('betas') == opts[1].get('betas'):
        cfg.optim_wrapper.update(generator_lr=opts[0]['lr'], discriminator_lr=opts[1]['lr'])
        if opts[0].get('betas') is not None:
            cfg.optim_wrapper.betas = tuple(float(b) for b in opts[0]['betas'])


def derive_config(settings: Settings, mmagic_model: nn.Module, peer_cfg: Config, origin: str) -> Config:
    """Our config reproducing mmagic's model (``settings`` and ``mmagic_model`` from
    :func:`~.mmagic_config.mmagic_settings`), with ``origin`` (mmagic's config name) in its header."""
    template, _ = _template(settings['model.generator.output_scale'], origin)
    cfg = Config.fromfile(template)
    cfg.model = our_model_config(settings, mmagic_model, cfg.model.to_dict())
    if cfg.model.ema_config is not None:
        _use_ema_for_metrics(cfg)
    _optimizers_from(peer_cfg, cfg)
    return cfg


def config_text(cfg: Config, settings: Settings, origin: str, checkpoint: str) -> str:
    """``cfg`` as a self-contained Python config file, headed by where it comes from and what it fixes."""
    template, data = _template(settings['model.generator.output_scale'], origin)
    lines = [
        f'# Our config for {checkpoint}, derived by tools/convert_checkpoint.py',
        f"# from mmagic's config {origin}.",
        "# The model section reproduces the function of mmagic's networks; data, evaluation, schedule and",
        f'# runtime come from configs/{osp.basename(template)}. Self-contained (no _base_):',
        "# it travels with the checkpoint. Settings read from mmagic's model as built by mmagic's own code:",
        *[f'#   {k} = {v!r}' for k, v in settings.items()],
        f'# Data: {data}, which is not shipped with this package.',
        '# tools/sample.py needs none; tools/test.py stops naming the missing folder until it is there',
        '# (or point data_root at it: --cfg-options data_root=/path).',
    ]
    return '\n'.join(lines) + '\n' + cfg.pretty_text
