"""Run in a process WITHOUT sagan_plugin: build mmagic's own SAGAN from mmagic's own configs, give it
non-trivial state, save each checkpoint as mmagic's runner writes it, and record reference outputs.

    python make_mmagic_checkpoints.py OUT_DIR NAME=CONFIG[:NUM_CLASSES] ...

State: every weight jittered (the EMA generator's independently of G's, so the two differ), attention gains
0.5, then two training-mode passes per network (BN running statistics and SN u, v move off their initial
values). The checkpoint holds ``state_dict``, ``meta.cfg`` (the config's text, as MMEngine's runner saves it)
and the message hub (pickled by plain MMEngine). References, for the same inputs: each network's output in
eval mode, then in training mode (batch statistics, one SN power iteration). mmagic's orthogonal ('studio')
init is replaced by a Gaussian fill while building (QR of the 128x128 configs' layers takes minutes on two
cores, and the jitter overwrites the initial weights anyway); the configs are used unchanged.
"""
import math
import os.path as osp
import sys

import mmagic
import torch
from mmagic.registry import MODELS
from mmagic.utils import register_all_modules
from mmengine import MessageHub
from mmengine.config import Config

CONFIGS = osp.join(osp.dirname(mmagic.__file__), '.mim', 'configs', 'sagan')
BATCH = 2


def _gaussian_fill(tensor: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Stands in for ``nn.init.orthogonal_`` (same scale, no QR)."""
    with torch.no_grad():
        return tensor.normal_(0, gain / math.sqrt(max(1, tensor[0].numel())))


def build(config: str, num_classes: int = None):
    """mmagic's model of ``config`` and the config (num_classes changed only when given)."""
    cfg = Config.fromfile(osp.join(CONFIGS, config + '.py'))
    if num_classes is not None:
        cfg.model.num_classes = num_classes
        cfg.model.generator.update(num_classes=num_classes, use_cbn=num_classes > 0)
        cfg.model.discriminator.num_classes = num_classes
    torch.nn.init.orthogonal_ = _gaussian_fill
    return MODELS.build(cfg.model), cfg


def networks(model) -> dict:
    nets = dict(generator=model.generator, discriminator=model.discriminator)
    if getattr(model, 'generator_ema', None) is not None:
        nets['generator_ema'] = model.generator_ema.module
    return nets


def make_state(model, k: int, scale: int, noise_size: int) -> None:
    """Jitter every weight, set attention gains to 0.5, move BN statistics and SN vectors."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            spread = max(p.std().item() if p.numel() > 1 else 0.0, 0.1)
            p.add_(0.1 * spread * torch.randn_like(p))
            if name.endswith('gamma'):  # 0 at init would hide the attention path
                p.fill_(0.5)
        for name, net in networks(model).items():
            for _ in range(2):
                y = torch.randint(0, k, (BATCH, )) if k else None
                if name == 'discriminator':
                    net(torch.rand(BATCH, 3, scale, scale) * 2 - 1, label=y)
                else:
                    net(torch.randn(BATCH, noise_size), label=y)
        if getattr(model, 'generator_ema', None) is not None:
            model.generator_ema.steps.fill_(7)


def outputs(model, ref: dict) -> dict:
    """Each network's output on the reference inputs."""
    out = {}
    for name, net in networks(model).items():
        x = ref['image'] if name == 'discriminator' else ref['noise']
        out[name] = net(x, label=ref['label']).detach().clone()
    return out


def main(out_dir: str, cases: list) -> None:
    register_all_modules()
    hub = MessageHub.get_current_instance()
    hub.update_scalar('train/loss_gen',
                      0.5)  # a HistoryBuffer in the checkpoint, as in every runner checkpoint
    for case in cases:
        name, spec = case.split('=')
        config, _, classes = spec.partition(':')
        config = config[:-3] if config.endswith('.py') else config
        torch.manual_seed(0)
        model, cfg = build(config, int(classes) if classes else None)
        k, scale = model.num_classes or 0, model.generator.output_scale
        noise_size = model.generator.noise_size
        model.train()
        make_state(model, k, scale, noise_size)
        torch.save(
            dict(
                meta=dict(cfg=cfg.pretty_text, iter=2),
                state_dict=model.state_dict(),
                message_hub=hub.state_dict()), osp.join(out_dir, f'{name}.pth'))
        ref = dict(
            noise=torch.randn(BATCH, noise_size),
            label=torch.randint(0, k, (BATCH, )) if k else None,
            image=torch.rand(BATCH, 3, scale, scale) * 2 - 1)
        with torch.no_grad():
            ref['eval'] = outputs(model.eval(), ref)
            ref['train'] = outputs(model.train(), ref)
        torch.save(ref, osp.join(out_dir, f'{name}_ref.pth'))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
