"""Train a model from a config through MMEngine's Runner.

    python tools/train.py configs/sagan_demo_fashion32.py [--resume] [--amp] [--cfg-options k=v ...]
    tools/dist_train.sh configs/sagan_imagenet128.py 4          # torchrun, 4 processes
"""
import argparse

from mmengine.runner import Runner, find_latest_checkpoint

from sagan_plugin.engine.launch import add_common_args, check_checkpoint, load_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        default=None,
        help='resume from the latest checkpoint in work_dir, or from the given checkpoint')
    parser.add_argument('--amp', action='store_true', help='mixed precision (AmpOptimWrapper for G and D)')
    add_common_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args)
    if args.resume:
        checkpoint = find_latest_checkpoint(cfg.work_dir) if args.resume == 'auto' else args.resume
        if checkpoint is None:
            raise FileNotFoundError(f'--resume: no checkpoint in {cfg.work_dir} (no last_checkpoint file)')
        check_checkpoint(checkpoint)
        cfg.resume, cfg.load_from = True, checkpoint
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    Runner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
