"""The two implementations a benchmark compares, built identically: mmagic 1.2's SAGAN from its own config and
ours from the config that reproduces it exactly (``configs/sagan_mmagic_*.py``, checked by
tests/converters/test_mmagic.py), each with its optimizers, one real batch and one D and one G step per
iteration. Used by bench_train.py, bench_live_memory.py and profile_step.py."""
import argparse
import os.path as osp
from contextlib import contextmanager

import mmagic
import torch
from mmengine import MessageHub
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.registry import DefaultScope
from timing import timed

from sagan_plugin.registry import DATASETS, MODELS  # (importing sagan_plugin registers our types)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

MMAGIC_CONFIGS = osp.join(osp.dirname(mmagic.__file__), '.mim', 'configs', 'sagan')
MMAGIC_CONFIG = {
    32: 'sagan_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32.py',
    128: 'sagan_woReLUinplace_Glr1e-4_Dlr4e-4_ndisc1-4xb64_imagenet1k-128x128.py'
}
OUR_CONFIG = {32: 'configs/sagan_mmagic_cifar10_32.py', 128: 'configs/sagan_mmagic_imagenet128.py'}


def real_batch(res: int, batch: int, num_classes: int) -> dict:
    """Fashion-MNIST images at ``res`` packed as the training pipeline packs them, labels mod num_classes."""
    pipeline = [dict(type='Resize', keys='gt', scale=(res, res), backend='pillow'), dict(type='PackInputs')]
    with DefaultScope.overwrite_default_scope('sagan_plugin'):
        dataset = DATASETS.build(dict(type='FashionMNIST', num_samples=batch, pipeline=pipeline))
    data = pseudo_collate([dataset[i] for i in range(batch)])
    for sample in data['data_samples']:
        sample.set_gt_label(int(sample.gt_label.label) % max(num_classes, 1))
    return data


def build(side: str, args: argparse.Namespace):
    """(model, optimizer wrapper dict, num_classes) of one side, with one D and one G step per iteration."""
    if side == 'mmagic':
        cfg = Config.fromfile(osp.join(MMAGIC_CONFIGS, MMAGIC_CONFIG[args.res]))
        for net in (cfg.model.generator, cfg.model.discriminator):
            net.init_cfg = dict(type='BigGAN')  # Glorot: orthogonal init's QR takes minutes at 128x128
        optim = {
            k: dict(optimizer=v['optimizer'])
            for k, v in cfg.optim_wrapper.items() if isinstance(v, dict)
        }
    else:
        cfg = Config.fromfile(osp.join(REPO, OUR_CONFIG[args.res]))
        cfg.merge_from_dict(dict(args.cfg_options, **({'model.compile': True} if args.compile else {})))
        for net in (cfg.model.generator, cfg.model.discriminator):
            net.init_type = 'xavier'  # as mmagic's side: skip orthogonal init's slow QR
        optim = dict(cfg.optim_wrapper)
        if args.precision == 'bf16':
            optim.update(type='AmpOptimWrapper', dtype='bfloat16')
    cfg.model.discriminator_steps = 1
    with DefaultScope.overwrite_default_scope('mmagic' if side == 'mmagic' else 'sagan_plugin'):
        model = MODELS.build(cfg.model).to(args.device)
        if side == 'ours':
            return model, build_optim_wrapper(model, optim), cfg.model.num_classes
        wrappers = {k: build_optim_wrapper(getattr(model, k), v) for k, v in optim.items()}
    return model, OptimWrapperDict(**wrappers), cfg.model.num_classes


class Side:
    """One implementation under test: its model, optimizers, batch and accumulated timings."""

    def __init__(self, name: str, args: argparse.Namespace):
        self.name, self.args = name, args
        self.model, self.optim, num_classes = build(name, args)
        self.data = real_batch(args.res, args.batch, num_classes)
        self.hub, self.iter = MessageHub.get_current_instance(), 0
        self.split = {'D step': [], 'G step': []}
        for step, method in (('D step', 'train_discriminator'), ('G step', 'train_generator')):
            setattr(self.model, method, self._timed(getattr(self.model, method), step))

    def _timed(self, fn, key):

        def wrapper(*a, **kw):
            out, timing = timed(lambda: fn(*a, **kw), self.args.device)
            self.split[key][-1] += timing.wall
            return out

        return wrapper

    def step(self) -> None:
        for times in self.split.values():
            times.append(0.0)
        self.hub.update_info('iter', self.iter)  # n_dis = 1: every iteration updates D, then G
        self.iter += 1
        self.model.train_step(self.data, self.optim)

    def timed_round(self, steps: int) -> float:
        """Seconds per iteration over ``steps`` iterations."""
        return timed(lambda: [self.step() for _ in range(steps)], self.args.device)[1].wall / steps

    def generator_forward(self) -> float:
        """Seconds of one no-grad generator forward on a batch (part of the D step)."""
        g = self.model.generator
        noise = torch.randn(self.args.batch, self.model.noise_size, device=self.args.device)
        label = torch.randint(0, max(self.model.num_classes, 1), (self.args.batch, ), device=self.args.device)
        with torch.no_grad(), self.autocast():
            return timed(lambda: g(noise, label=label
                                   if self.model.num_classes else None), self.args.device)[1].wall

    @contextmanager
    def autocast(self):
        with torch.autocast(
                self.args.device,
                dtype=torch.bfloat16,
                enabled=self.name == 'ours' and self.args.precision == 'bf16'):
            yield

    def flops_per_image(self) -> float:
        from torch.utils.flop_counter import FlopCounterMode

        # eager: the same math, and a compiled graph would hide its ops from the counter
        with torch.compiler.set_stance('force_eager'), FlopCounterMode(display=False) as counter:
            self.step()
        return counter.get_total_flops() / self.args.batch
