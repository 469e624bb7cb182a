"""Score a folder or .npz of images under a config's protocol: its first FID metric (OfflineFID or a subclass
from ``test_evaluator``) with the same network, rounding, real statistics and KID / precision-recall settings
that ``tools/test.py`` gives a checkpoint's samples; per class with ``--per-class``.

    python tools/score_images.py configs/sagan_demo_fashion32.py samples/ --out scores/
    python tools/score_images.py configs/sagan_demo_fashion32.py other_gan.npz --per-class --out scores/
    python tools/score_images.py CONFIG images/ --manifest classes.csv --per-class

IMAGES is a folder (flat; class sub-folders; or written by ``tools/sample.py --out-dir``, whose manifest.json
gives the classes) or an .npz (``images`` uint8 [N, H, W, 3] or [N, 3, H, W], optional ``labels``); see
docs/scoring.md. Every image must have the size of the real images; all N images are scored (FID depends on
N: compare sets of equal size). Writes DIR/scores.json and, per class, DIR/per_class.csv and .json.
"""
import argparse
import json
import os
import os.path as osp
from types import SimpleNamespace
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from tqdm import tqdm

import sagan_plugin  # noqa: F401  (registers the plugin's components)
from sagan_plugin.datasets.folder_classes import resolve_num_classes
from sagan_plugin.engine.cfg_options import CfgOptionsAction
from sagan_plugin.engine.launch import merge_cfg_options
from sagan_plugin.engine.output_paths import check_output_folder
from sagan_plugin.evaluation import OfflineFID
from sagan_plugin.evaluation.image_sets import load_image_set
from sagan_plugin.evaluation.per_class import class_rows, summarize, write_rows
from sagan_plugin.evaluation.real_features import batch_images
from sagan_plugin.registry import DATASETS, METRICS, MODELS

CHUNK = 500  # images per step of the progress bar (the metric batches them by its feature_batch_size)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config whose test_evaluator holds the FID metric (OfflineFID)')
    parser.add_argument('images', help='folder of images or .npz')
    parser.add_argument(
        '--manifest', help='JSON or CSV naming each image\'s class (file -> class name or id)')
    parser.add_argument('--out', help='folder for scores.json (and per_class.csv/.json)')
    parser.add_argument('--per-class', action='store_true', help='also each class\'s metrics (needs classes)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction, help='override config values, key=value')
    return parser.parse_args(argv)


def fid_metric_cfg(cfg: Config) -> dict:
    """The first metric of ``test_evaluator`` whose type is OfflineFID or a subclass."""
    evaluator = cfg.get('test_evaluator')
    metrics = evaluator.get('metrics') if isinstance(evaluator, dict) else None
    metrics = metrics if isinstance(metrics, (list, tuple)) else [metrics] if metrics else []
    for metric in metrics:
        if isinstance(metric, dict) and issubclass(METRICS.get(metric.get('type')) or object, OfflineFID):
            return dict(metric)
    raise ValueError(f'{cfg.filename}: test_evaluator has no OfflineFID metric, so no protocol to score '
                     f'images with (found {[m.get("type") for m in metrics if isinstance(m, dict)]})')


def model_classes(cfg: Config, dataset) -> Optional[List[str]]:
    """The model's class names (the real images' dataset's; ids as names when it has none); None when
    unconditional."""
    resolve_num_classes(cfg)
    num_classes = cfg.model.get('num_classes') or 0
    if not num_classes:
        return None
    names = list(dataset.metainfo.get('classes') or [])
    if len(names) != num_classes:
        names = [str(i) for i in range(num_classes)]
    return names


def real_resolution(dataset, preprocessor, real_key: str) -> int:
    """The side of the real images as the metric sees them (the first one through the pipeline)."""
    image = batch_images(preprocessor(pseudo_collate([dataset[0]]), False)['data_samples'], real_key)
    height, width = image.shape[-2:]
    if height != width:
        raise ValueError(f'the real images are {width}x{height}; only square images are scored')
    return int(height)


@torch.no_grad()
def image_features(metric: OfflineFID, images: torch.Tensor) -> torch.Tensor:
    """Features [N, D] of uint8 RGB [N, 3, H, W] through the metric's own path (BGR in, as a model gives)."""
    feats = []
    for chunk in tqdm(images.split(CHUNK), desc=f'{metric.name} features', unit='chunk'):
        feats.append(metric.forward_inception(chunk[:, [2, 1, 0]]).float().cpu())
    return torch.cat(feats)


def per_class_rows(metric: OfflineFID, feats: np.ndarray, labels: np.ndarray, dataset,
                   class_names: Sequence[str]) -> list:
    """One row per class (:func:`class_rows`), against the real images of each class."""
    if metric.real_feats is None:
        raise ValueError(
            f'--per-class needs the real images\' features, but {metric.inception_pkl} holds only '
            'their mean and covariance; rebuild it with "python tools/calc_inception_stats.py '
            'CONFIG --save-features --force"')
    real_labels = getattr(metric, 'real_labels', None)  # PerClassFID keeps them with its statistics
    if real_labels is None:  # the statistics are of the first real_nums items, in dataset order
        real_labels = [dataset.get_data_info(i)['gt_label'] for i in range(len(metric.real_feats))]
    return class_rows(
        feats,
        labels,
        metric.real_feats,
        np.asarray(real_labels, dtype=np.int64),
        num_classes=len(class_names),
        class_names=class_names,
        kid=metric.kid_cfg,
        precision_recall=metric.pr_cfg,
        bootstrap=getattr(metric, 'bootstrap_cfg', None))


def score(args: argparse.Namespace) -> dict:
    """Load the images, build the metric for their number, compute (or reuse) the real statistics, score."""
    cfg = Config.fromfile(args.config)
    merge_cfg_options(cfg, args.cfg_options, args.config)
    init_default_scope(cfg.get('default_scope', 'sagan_plugin'))
    metric_cfg = fid_metric_cfg(cfg)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    preprocessor = MODELS.build(cfg.model.get('data_preprocessor', dict(type='DataPreprocessor')))
    class_names = model_classes(cfg, dataset)
    resolution = real_resolution(dataset, preprocessor, metric_cfg.get('real_key') or 'gt_img')
    images, labels = load_image_set(args.images, resolution, class_names, args.manifest)
    if args.per_class and labels is None:
        raise ValueError(f'--per-class: {args.images} gives no classes' +
                         ('' if class_names else ' and the model has none') +
                         '; use class sub-folders, a manifest (--manifest) or "labels" in the .npz')
    # fake_nums: the images given (the KID subset size is checked against it here); balanced_classes is
    # about drawing classes, which the images already have
    metric = METRICS.build(dict(metric_cfg, fake_nums=len(images), balanced_classes=False))
    metric.prepare(
        SimpleNamespace(data_preprocessor=preprocessor.to(args.device), num_classes=len(class_names or ())),
        SimpleNamespace(dataset=dataset, batch_size=cfg.test_dataloader.get('batch_size') or 1))
    feats = image_features(metric, images)
    values = OfflineFID.compute_metrics(metric, [feats])  # the global figures (a subclass's own need labels)
    rows = per_class_rows(metric, feats.double().numpy(), labels, dataset, class_names) if args.per_class \
        else None
    values.update(summarize(rows) if rows else {})
    return dict(
        images=args.images,
        num_images=len(images),
        resolution=resolution,
        statistics=metric.inception_pkl,
        num_real_images=len(dataset) if metric.real_nums == -1 else metric.real_nums,
        metrics={
            f'{metric.prefix}/{k}' if metric.prefix else k: float(v)
            for k, v in values.items()
        },
        per_class=rows)


def main(argv: Optional[List[str]] = None) -> dict:
    """Score, print, write; returns what scores.json holds, with the per-class rows under ``per_class``."""
    args = parse_args(argv)
    if args.out:
        check_output_folder(args.out, '--out')
    result = score(args)
    metrics = ', '.join(f'{k}: {v:.4f}' for k, v in result['metrics'].items())
    print(f'{result["num_images"]} images of {args.images} ({result["resolution"]}x{result["resolution"]}) '
          f'against {result["num_real_images"]} real images ({result["statistics"]}): {metrics}')
    for row in result['per_class'] or []:
        print('  ' + ', '.join(f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}'
                               for k, v in row.items()))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(osp.join(args.out, 'scores.json'), 'w') as f:
            json.dump({k: v for k, v in result.items() if k != 'per_class'}, f, indent=2)
        written = [osp.join(args.out, 'scores.json')]
        if result['per_class']:
            written += write_rows(result['per_class'], osp.join(args.out, 'per_class'))
        print('wrote ' + ', '.join(written))
    return result


if __name__ == '__main__':
    main()
