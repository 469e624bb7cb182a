"""Evaluate a checkpoint with the config's test_evaluator (FID, IS, ...) through MMEngine's Runner.

    python tools/test.py CONFIG CHECKPOINT [--out metrics.json] [--cfg-options k=v ...]
    tools/dist_test.sh CONFIG CHECKPOINT 4 [--out metrics.json]

A per-class metric (PerClassFID) also writes its table, one row per class, as CSV and JSON beside --out
(metrics.json -> metrics_per_class_<prefix>.csv/.json), or into the work_dir without --out.

The Runner writes its log folder and config dump into the work_dir, so a work_dir that a training (or
another evaluation) is using is refused, naming its pid: give this one its own --work-dir.
"""
import argparse
import json
import os.path as osp
import re
from typing import List

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.runner import Runner

from sagan_plugin.engine.launch import add_common_args, check_checkpoint, load_config
from sagan_plugin.engine.output_paths import check_output_file
from sagan_plugin.engine.work_dir_lock import claim_work_dir
from sagan_plugin.evaluation.per_class import write_rows


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


def per_class_metrics(runner: Runner) -> list:
    """The test evaluators' metrics that hold a per-class table (``rows``) after the run.

    mmagic's MultiTestLoop holds a list (``evaluators``), MMEngine's TestLoop one (``evaluator``).
    """
    loop = runner.test_loop
    evaluators = getattr(loop, 'evaluators', None) or [loop.evaluator]
    return [m for evaluator in evaluators for m in evaluator.metrics if getattr(m, 'rows', None)]


def write_per_class(runner: Runner, out: str) -> List[str]:
    """Each per-class table as ``<out stem>_per_class_<prefix>.csv/.json`` (without out: work_dir/metrics)."""
    written = []
    for metric in per_class_metrics(runner):
        prefix = re.sub(r'[^A-Za-z0-9_.-]+', '_', metric.prefix or type(metric).__name__)
        stem = osp.splitext(out)[0] if out else osp.join(runner.work_dir, 'metrics')
        csv_path, json_path = write_rows(metric.rows, f'{stem}_per_class_{prefix}')
        print(
            f'per-class table of {prefix} ({len(metric.rows)} classes) written to {csv_path} and {json_path}')
        written += [csv_path, json_path]
    return written


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
    if is_main_process():
        write_per_class(runner, args.out)
    if args.out and is_main_process():
        with open(args.out, 'w') as f:
            metrics = {k: float(v) if hasattr(v, '__float__') else v for k, v in keep.metrics.items()}
            json.dump(metrics, f, indent=2)
        print(f'metrics written to {args.out}')


if __name__ == '__main__':
    main()
