"""Train a model from a config through MMEngine's Runner.

    python tools/train.py configs/sagan_demo_fashion32.py [--resume [CKPT]] [--amp] [--auto-scale-lr]
                          [--work-dir DIR] [--cfg-options k=v ...]
    tools/dist_train.sh configs/sagan_imagenet128.py 4          # torchrun, 4 processes

--resume alone continues from the newest checkpoint in the work_dir that passes its integrity check (a damaged
one is passed over with a warning); a run without --resume refuses a work_dir that holds another run's
checkpoints, and any run refuses a work_dir that another live run is using (naming its pid).
"""
import argparse
import os.path as osp

from mmengine.runner import Runner

from sagan_plugin.engine.checkpoint_files import LAST_CHECKPOINT, checkpoints_in
from sagan_plugin.engine.launch import add_common_args, load_config
from sagan_plugin.engine.preemption_hook import TrainingPreempted, exit_at_once
from sagan_plugin.engine.work_dir_lock import claim_work_dir


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        default=None,
        help='resume from the latest good checkpoint in work_dir, or from the given checkpoint')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision: bfloat16 autocast (AmpOptimWrapper for G and D)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale both learning rates by (processes x batch size) / auto_scale_lr.base_batch_size')
    add_common_args(parser)
    return parser.parse_args()


def set_resume(cfg, resume: str) -> None:
    """``--resume``: which file is checked (integrity, training state, model fit) by AtomicCheckpointHook."""
    if resume == 'auto':
        if not checkpoints_in(cfg.work_dir) and not osp.isfile(osp.join(cfg.work_dir, LAST_CHECKPOINT)):
            raise FileNotFoundError(f'--resume: no checkpoint in {cfg.work_dir} (no last_checkpoint file, no '
                                    'iter_*.pth); give one with --resume PATH or --work-dir')
        cfg.resume, cfg.load_from = True, None  # the hook picks the newest good one
    else:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'--resume: checkpoint {resume} does not exist')
        cfg.resume, cfg.load_from = True, resume


def set_auto_scale_lr(cfg) -> None:
    """``--auto-scale-lr``: MMEngine's Runner.scale_lr multiplies every param group of G and D alike."""
    auto = cfg.get('auto_scale_lr')
    if not auto or 'base_batch_size' not in auto:
        raise KeyError(
            '--auto-scale-lr needs auto_scale_lr = dict(base_batch_size=N) in the config (the total '
            'batch its learning rates were chosen for)')
    cfg.auto_scale_lr.enable = True


def main() -> None:
    args = parse_args()
    cfg = load_config(args)
    if args.resume:
        set_resume(cfg, args.resume)
    if args.auto_scale_lr:
        set_auto_scale_lr(cfg)
    if args.amp:  # bf16 on CPU and GPU: fp32's exponent range, so SN and the hinge loss need no loss scale
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('dtype', 'bfloat16')  # a config's dtype='float16' (pre-Ampere GPUs) wins
    with claim_work_dir(cfg, fresh=not cfg.get('resume')):  # before the Runner writes into the work_dir
        try:
            Runner.from_cfg(cfg).train()
        except TrainingPreempted as preempted:  # SIGTERM/SIGUSR1: every rank saved; all leave now, code 75
            exit_at_once(preempted.code)


if __name__ == '__main__':
    main()
