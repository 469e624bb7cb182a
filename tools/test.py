"""Evaluate a checkpoint with the config's test_evaluator (FID, IS, ...) through MMEngine's Runner.

    python tools/test.py CONFIG CHECKPOINT [--out metrics.json] [--cfg-options k=v ...]
    tools/dist_test.sh CONFIG CHECKPOINT 4 [--out metrics.json]

The Runner writes its log folder and config dump into the work_dir, so a work_dir that a training (or
another evaluation) is using is refused, naming its pid: give this one its own --work-dir.
"""
import argparse
import json

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import Runner

from sagan_plugin.engine.launch import add_common_args, check_checkpoint, load_config
from sagan_plugin.engine.output_paths import check_output_file
from sagan_plugin.engine.work_dir_lock import claim_work_dir


class KeepTestMetrics(Hook):
    """mmagic's MultiTestLoop.run() returns None; the metrics reach only the after_test_epoch hooks."""

    def __init__(self):
        self.metrics = {}

    def after_test_epoch(self, runner, metrics=None) -> None:
        self.metrics = dict(metrics or {})


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (a runner checkpoint or a converted one)')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    add_common_args(parser)
    return parser.parse_args()


def check_out(path: str) -> None:
    """Fail before the (long) evaluation when ``--out`` cannot be written."""
    check_output_file(path, '--out', example='metrics.json', create_parents=False)


def main() -> None:
    args = parse_args()
    if args.out:
        check_out(args.out)
    check_checkpoint(args.checkpoint)
    cfg = load_config(args)
    cfg.load_from, cfg.resume = None, False
    with claim_work_dir(cfg):  # the Runner writes its log folder and config dump into the work_dir
        runner = Runner.from_cfg(cfg)
        # Strict: a checkpoint of another architecture is an error, not a partly random model.
        runner.load_checkpoint(args.checkpoint, map_location='cpu', strict=True)
        keep = KeepTestMetrics()
        runner.register_hook(keep, priority='LOWEST')
        runner.test()
    if args.out and is_main_process():
        with open(args.out, 'w') as f:
            metrics = {k: float(v) if hasattr(v, '__float__') else v for k, v in keep.metrics.items()}
            json.dump(metrics, f, indent=2)
        print(f'metrics written to {args.out}')


if __name__ == '__main__':
    main()
