"""How much do the generator's BatchNorm statistics move FID? {EMA, raw generator} x {running, batch,
standing} on the config's evaluation, printed as a markdown table.

    .venv/bin/python tools/experiments/bn_modes.py CONFIG CKPT [--num 1000] [--truncation T]
        [--standing-batches 100] [--work-dir DIR] [--cfg-options ...]

Every cell is the config's OfflineFID (its real statistics, loaded or computed once) on the same seeded
latents, through MMEngine's Runner; only ``sample_model`` and ``bn_mode`` change between cells
(sagan_plugin/evaluation/sweep.py). ``batch`` normalises each generated batch of the test dataloader's
``batch_size`` by its own statistics; ``standing`` re-estimates the statistics over ``--standing-batches``
passes of 50 samples first (docs/sampling.md, "BN statistics at sampling time"). Cost: six evaluations of
``--num`` images each.
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmengine.runner import Runner

from sagan_plugin.engine.launch import add_common_args, check_checkpoint, load_config
from sagan_plugin.engine.work_dir_lock import claim_work_dir
from sagan_plugin.evaluation.sweep import check_truncations, evaluate_settings
from sagan_plugin.models.bn_modes import BN_MODES

GENERATORS = (('EMA', 'ema'), ('raw', 'orig'))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config whose test_evaluator holds an OfflineFID')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--num', type=int, help='generated images per cell (default: the config\'s fake_nums)')
    parser.add_argument('--truncation', type=float, help='truncation of z (default: the config\'s)')
    parser.add_argument('--standing-batches', type=int, default=100, help='passes of 50 samples for standing')
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.num is not None and args.num < 2:
        parser.error(f'--num must be >= 2, got {args.num}')
    if args.standing_batches < 1:
        parser.error(f'--standing-batches must be >= 1, got {args.standing_batches}')
    if args.truncation is not None:
        check_truncations([args.truncation])
    return args


def fid_only(cfg, num: Optional[int]) -> str:
    """Keep the test evaluator's first OfflineFID alone (with ``num`` generated images); its key."""
    metrics = [dict(m) for m in cfg.test_evaluator.metrics if m.get('type') in ('OfflineFID', 'PerClassFID')]
    if not metrics:
        raise ValueError(f'{cfg.filename}: test_evaluator.metrics has no OfflineFID')
    fid = dict(metrics[0], **({} if num is None else dict(fake_nums=num)))
    cfg.test_evaluator = dict(cfg.test_evaluator, metrics=[fid])
    return f'{fid["prefix"]}/fid' if fid.get('prefix') else 'fid'


def table(fids: dict, generators: List[str]) -> str:
    """Markdown: one row per generator, one column per BN mode."""
    lines = ['| generator | ' + ' | '.join(BN_MODES) + ' |', '|---' * (len(BN_MODES) + 1) + '|']
    for name in generators:
        lines.append(f'| {name} | ' + ' | '.join(f'{fids[name, mode]:.2f}' for mode in BN_MODES) + ' |')
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    check_checkpoint(args.checkpoint)
    name = osp.splitext(osp.basename(args.config))[0]
    args.work_dir = args.work_dir or osp.join('work_dirs', 'bn_modes', name)  # not the training's
    cfg = load_config(args)
    key = fid_only(cfg, args.num)
    cfg.load_from, cfg.resume = None, False
    with claim_work_dir(cfg):
        runner = Runner.from_cfg(cfg)
        runner.load_checkpoint(args.checkpoint, map_location='cpu', strict=True)
        generators = [(n, s) for n, s in GENERATORS if s != 'ema' or runner.model.with_ema_gen]
        extra = {} if args.truncation is None else dict(truncation=args.truncation)
        settings = [
            dict(
                sample_model=sample_model,
                bn_mode=mode,
                **extra,
                standing_stats=dict(num_batches=args.standing_batches, batch_size=50, seed=0))
            for _, sample_model in generators for mode in BN_MODES
        ]
        results = evaluate_settings(runner, settings)
    cells = [(n, mode) for n, _ in generators for mode in BN_MODES]
    fids = {cell: result[key] for cell, result in zip(cells, results)}
    fid = cfg.test_evaluator.metrics[0]
    print(f'\nFID ({fid["fake_nums"]} generated images, real statistics {fid.get("inception_pkl")}, '
          f'batch size {cfg.test_dataloader.batch_size}, standing: {args.standing_batches} x 50 samples)')
    print(table(fids, [n for n, _ in generators]))


if __name__ == '__main__':
    main()
