"""Truncation sweep: FID and IS (or the classifier score) of one checkpoint at several truncation values,
BigGAN's quality–diversity curve, through the config's test metrics and MMEngine's Runner.

    python tools/truncation_sweep.py CONFIG CKPT --truncations 0.5 1.0 1.5 2.0 none --out DIR
    python tools/truncation_sweep.py CONFIG CKPT --truncations 0.5 1 none --bn-mode standing --out DIR

Writes DIR/truncation.csv (one row per value; ``none`` is untruncated z) and DIR/truncation.png. Every value
scores the same seeded latents (same classes; entries of z beyond T redrawn), and the real statistics are
loaded or computed once. The score is ``OfflineIS`` when the config has it and its weights file is present
(no download is attempted); otherwise EfficientNet-Lite0's ``ClassifierScore``, which is NOT IS: the CSV's
column says so. The Runner's logs go to DIR/runner unless --work-dir says otherwise.
"""
import argparse
import copy
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.config import Config
from mmengine.runner import Runner

from sagan_plugin.engine.launch import add_common_args, check_checkpoint, load_config
from sagan_plugin.engine.output_paths import check_output_folder
from sagan_plugin.engine.work_dir_lock import claim_work_dir
from sagan_plugin.evaluation.sweep import check_truncations, parse_truncation, truncation_sweep, write_sweep
from sagan_plugin.evaluation.weights import is_inception_path
from sagan_plugin.models.bn_modes import BN_MODES

FID_TYPES = ('OfflineFID', 'PerClassFID')
SCORE_TYPES = ('OfflineIS', 'ClassifierScore')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file with a test_evaluator holding OfflineFID')
    parser.add_argument('checkpoint', help='runner checkpoint or converted checkpoint')
    parser.add_argument(
        '--truncations',
        nargs='+',
        type=parse_truncation,
        required=True,
        help='values > 0; "none": untruncated')
    parser.add_argument('--out', required=True, help='folder for truncation.csv and truncation.png')
    parser.add_argument('--bn-mode', choices=BN_MODES, help='BatchNorm statistics (default: the config\'s)')
    parser.add_argument(
        '--standing-batches', type=int, help='passes of --bn-mode standing (50 samples each; default 100)')
    parser.add_argument('--fake-nums', type=int, help='generated images per value (default: the config\'s)')
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.standing_batches is not None and (args.bn_mode != 'standing' or args.standing_batches < 1):
        parser.error('--standing-batches takes a number >= 1, with --bn-mode standing')
    if args.fake_nums is not None and args.fake_nums < 2:
        parser.error(f'--fake-nums must be >= 2, got {args.fake_nums}')
    return args


def is_available(metric: dict) -> bool:
    """Whether OfflineIS's weights file is here (never downloads)."""
    try:
        is_inception_path(metric.get('inception_path'), download=False)
        return True
    except FileNotFoundError:
        return False


def sweep_metrics(cfg: Config, fake_nums: Optional[int] = None) -> List[dict]:
    """The config's test metrics with one class-probability score: OfflineIS if its weights are here, else
    ClassifierScore on the same images (``fake_nums``, ``sample_model`` of the FID)."""
    evaluator = cfg.get('test_evaluator')
    if not isinstance(evaluator, dict) or not evaluator.get('metrics'):
        raise ValueError(f'{cfg.filename}: test_evaluator must be a dict with metrics (an OfflineFID)')
    metrics = [copy.deepcopy(dict(m)) for m in evaluator['metrics']]
    fid = next((m for m in metrics if m.get('type') in FID_TYPES), None)
    if fid is None:
        raise ValueError(f'{cfg.filename}: test_evaluator.metrics has no {" or ".join(FID_TYPES)}')
    for metric in [m for m in metrics if m.get('type') == 'OfflineIS' and not is_available(m)]:
        print('OfflineIS: its weights file is absent (docs/evaluation.md); using ClassifierScore '
              '(EfficientNet-Lite0, NOT IS) instead')
        metrics[metrics.index(metric)] = dict(
            type='ClassifierScore',
            fake_nums=metric['fake_nums'],
            splits=metric.get('splits', 10),
            sample_model=metric.get('sample_model', fid.get('sample_model', 'ema')))
    if not any(m.get('type') in SCORE_TYPES for m in metrics):
        score = dict(type='OfflineIS', download=False) if is_available({}) else dict(type='ClassifierScore')
        metrics.append(
            dict(score, fake_nums=fid['fake_nums'], splits=10, sample_model=fid.get('sample_model', 'ema')))
    for metric in metrics:
        if fake_nums is not None:
            metric['fake_nums'] = fake_nums
        if metric.get('type') in SCORE_TYPES:
            metric['splits'] = min(metric.get('splits', 10), metric['fake_nums'])
    return metrics


def run_sweep(cfg: Config,
              checkpoint: str,
              truncations: Sequence[Optional[float]],
              bn_mode: Optional[str] = None,
              standing_batches: Optional[int] = None,
              fake_nums: Optional[int] = None) -> List[dict]:
    """The sweep's rows (see ``sagan_plugin.evaluation.sweep.truncation_sweep``) for a loaded config; the
    work_dir is claimed while the Runner runs."""
    truncations = check_truncations(truncations)  # before anything is built
    cfg.test_evaluator = dict(cfg.test_evaluator, metrics=sweep_metrics(cfg, fake_nums))
    cfg.load_from, cfg.resume = None, False
    standing = None if standing_batches is None else dict(num_batches=standing_batches)
    with claim_work_dir(cfg):
        runner = Runner.from_cfg(cfg)
        runner.load_checkpoint(checkpoint, map_location='cpu', strict=True)
        return truncation_sweep(runner, truncations, bn_mode=bn_mode, standing_stats=standing)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    check_output_folder(args.out, '--out')
    check_checkpoint(args.checkpoint)
    args.work_dir = args.work_dir or osp.join(args.out, 'runner')  # not a training's work_dir
    cfg = load_config(args)
    rows = run_sweep(cfg, args.checkpoint, args.truncations, args.bn_mode, args.standing_batches,
                     args.fake_nums)
    csv_path, png_path = write_sweep(rows, args.out)
    columns = [k for k in rows[0] if k != 'truncation']
    print('| truncation | ' + ' | '.join(columns) + ' |')
    print('|---' * (len(columns) + 1) + '|')
    for row in rows:
        value = 'none' if row['truncation'] is None else f'{row["truncation"]:g}'
        print(f'| {value} | ' + ' | '.join(f'{row[k]:.4g}' for k in columns) + ' |')
    print(f'wrote {csv_path} and {png_path}')


if __name__ == '__main__':
    main()
