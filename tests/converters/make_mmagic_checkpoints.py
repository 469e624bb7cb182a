"""Run in a process WITHOUT sagan_plugin: build mmagic's own SAGAN from mmagic's own configs, move BN
statistics and SN vectors off their initial values with a training-mode pass, and save each checkpoint as
mmagic's runner and publish tool write it (weights, meta, message hub pickled by plain MMEngine), plus
reference outputs of G and D in eval mode.

    python make_mmagic_checkpoints.py OUT_DIR NAME=CONFIG:NUM_CLASSES ...
"""
import os.path as osp
import sys

import mmagic
import torch
from mmagic.registry import MODELS
from mmagic.utils import register_all_modules
from mmengine import MessageHub
from mmengine.config import Config

CONFIGS = osp.join(osp.dirname(mmagic.__file__), '.mim', 'configs', 'sagan')


def build(config: str, num_classes: int) -> torch.nn.Module:
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    cfg.model.update(num_classes=num_classes)
    cfg.model.generator.update(num_classes=num_classes, use_cbn=num_classes > 0)
    cfg.model.discriminator.update(num_classes=num_classes)
    # BigGAN's Glorot init instead of the configs' 'studio' orthogonal one: the same architecture (both add 1
    # to the conditional BN gain) without QR-orthogonalising 128x128 layers, which takes minutes on two cores.
    for net in (cfg.model.generator, cfg.model.discriminator):
        net.init_cfg = dict(type='BigGAN')
    return MODELS.build(cfg.model)


def main(out_dir: str, cases: list) -> None:
    register_all_modules()
    hub = MessageHub.get_current_instance()
    hub.update_scalar('train/loss_gen',
                      0.5)  # a HistoryBuffer in the checkpoint, as in every runner checkpoint
    for case in cases:
        name, spec = case.split('=')
        config, num_classes = spec.rsplit(':', 1)
        torch.manual_seed(0)
        model = build(config, int(num_classes))
        g, d, k = model.generator, model.discriminator, int(num_classes)
        scale, noise_size = g.output_scale, g.noise_size
        labels = (lambda n: torch.randint(0, k, (n, ))) if k else (lambda n: None)
        for module in model.modules():  # gamma = 0 at init would hide the attention path
            if hasattr(module, 'gamma'):
                module.gamma.data.fill_(0.5)
        with torch.no_grad():  # a train-mode pass: BN running statistics and SN u, v move
            g(torch.randn(2, noise_size), label=labels(2))
            d(torch.rand(2, 3, scale, scale) * 2 - 1, label=labels(2))
            model.eval()
            ref = dict(
                noise=torch.randn(3, noise_size),
                label=labels(3),
                image=torch.rand(3, 3, scale, scale) * 2 - 1)
            ref['fake'] = g(ref['noise'], label=ref['label'])
            ref['score'] = d(ref['image'], label=ref['label'])
        torch.save(
            dict(meta=dict(iter=2), state_dict=model.state_dict(), message_hub=hub.state_dict()),
            osp.join(out_dir, f'{name}.pth'))
        torch.save(ref, osp.join(out_dir, f'{name}_ref.pth'))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
