"""Compute once the real-image feature statistics (``inception_pkl``) that a config's FID metrics reuse.

For every ``OfflineFID`` metric in the config's test (or val) evaluator, this extracts the
features of the first ``real_nums`` images of the matching dataloader's dataset -- through the same pipeline,
data preprocessor and feature network the metric uses -- and writes mean, covariance (and, if needed, the raw
features) to the metric's ``inception_pkl``, together with what they were made with (network and weights
sha256, resize method, dataset, image count). The metric refuses a file that does not match
(sagan_plugin/evaluation/stats_cache.py).

Examples::

    python tools/calc_inception_stats.py configs/sagan_demo_fashion32.py
    python tools/calc_inception_stats.py configs/sagan_imagenet128.py --num-images 50000 \\
        --out work_dirs/cache/imagenet128_train_50k_fid_inception.pkl
"""
import argparse
import os.path as osp
import sys
from typing import List

from mmengine.config import Config
from mmengine.registry import init_default_scope

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout without installing

import sagan_plugin  # noqa: E402,F401  (registers the plugin's components)
from sagan_plugin.engine.cfg_options import CfgOptionsAction  # noqa: E402
from sagan_plugin.engine.launch import merge_cfg_options  # noqa: E402
from sagan_plugin.evaluation import OfflineFID  # noqa: E402
from sagan_plugin.registry import DATASETS, METRICS, MODELS  # noqa: E402


def parse_args(argv: List[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file with a test/val evaluator holding OfflineFID')
    parser.add_argument('--out', help='statistics file to write (default: the metric\'s inception_pkl)')
    parser.add_argument(
        '--num-images', type=int, help='real images to use (default: the metric\'s real_nums)')
    parser.add_argument('--split', choices=['test', 'val'], default='test', help='which evaluator/dataloader')
    parser.add_argument('--batch-size', type=int, help='images per batch (default: the dataloader\'s)')
    parser.add_argument(
        '--save-features',
        action='store_true',
        help='also store raw features (always done when the metric computes KID or precision/recall)')
    parser.add_argument('--force', action='store_true', help='recompute and overwrite an existing file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction, help='override config values, key=value')
    return parser.parse_args(argv)


def feature_metric_cfgs(cfg: Config, split: str) -> List[dict]:
    """The configs of the evaluator's metrics whose class is OfflineFID or a subclass."""
    evaluator = cfg.get(f'{split}_evaluator')
    if not isinstance(evaluator, dict):
        raise ValueError(
            f'{split}_evaluator must be one dict(type="Evaluator", metrics=[...]) in this config')
    metrics = evaluator.get('metrics') or []
    metrics = metrics if isinstance(metrics, (list, tuple)) else [metrics]
    found = [m for m in metrics if issubclass(METRICS.get(m['type']), OfflineFID)]
    if not found:
        raise ValueError(f'{split}_evaluator has no OfflineFID metric, so no statistics to compute')
    return found


def main(argv: List[str] = None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    merge_cfg_options(cfg, args.cfg_options,
                      args.config)  # data_root=X moves every dataset, as in tools/train.py
    init_default_scope(cfg.get('default_scope', 'sagan_plugin'))
    metric_cfgs = feature_metric_cfgs(cfg, args.split)
    if args.out and len(metric_cfgs) > 1:
        raise ValueError(f'--out names one file but the evaluator has {len(metric_cfgs)} feature metrics')
    loader_cfg = cfg.get(f'{args.split}_dataloader')
    dataset = DATASETS.build(loader_cfg['dataset'])
    preprocessor = MODELS.build(cfg.model.get('data_preprocessor', dict(type='DataPreprocessor')))
    for metric_cfg in metric_cfgs:
        metric_cfg = dict(metric_cfg, **({
            'inception_pkl': args.out
        } if args.out else {}), **({
            'real_nums': args.num_images
        } if args.num_images else {}))
        if not metric_cfg.get('inception_pkl'):
            raise ValueError(f'{metric_cfg["type"]} has no inception_pkl: nothing to write; pass --out FILE')
        metric = METRICS.build(metric_cfg)
        stats = metric.real_stats(
            dataset,
            preprocessor,
            args.batch_size or loader_cfg.get('batch_size', 32),
            save_features=args.save_features,
            overwrite=args.force)
        print(f'{metric_cfg["inception_pkl"]}: {stats["num_images"]} images of {stats["dataset"]["type"]}, '
              f'{stats["extractor"]["name"]} ({stats["extractor"]["resize"]}), '
              f'features {"stored" if "real_feats" in stats else "not stored"}')


if __name__ == '__main__':
    main()
