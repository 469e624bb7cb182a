"""Features of a run for comparing two: a checkpoint scored by ``runner.test()`` with a config's OfflineFID,
or an image set through the same metric's network; and what the scores depend on besides the images
(network, real statistics), so that runs scored against different references are refused.
Used by ``tools/compare_runs.py``."""
import copy
import hashlib
import os.path as osp
import uuid
from types import SimpleNamespace
from typing import List, Optional

import numpy as np
import torch
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from sagan_plugin.engine.launch import check_checkpoint
from sagan_plugin.engine.work_dir_lock import claim_work_dir
from sagan_plugin.evaluation.image_sets import load_image_set
from sagan_plugin.evaluation.offline_fid import OfflineFID
from sagan_plugin.evaluation.real_features import batch_labels
from sagan_plugin.registry import DATASETS, METRICS, MODELS, SCOPE

SAVED_RESULTS = ('.json', '.csv', '.pkl', '.txt', '.log')  # figures without features: refused


def pick_metric(cfg) -> dict:
    """The first test metric that is an OfflineFID (or a subclass), keeping its features, without the
    options whose figures this tool does not use (bootstrap, FID∞, floor)."""
    for metric in cfg.get('test_evaluator', {}).get('metrics', []) or []:
        with DefaultScope.overwrite_default_scope(SCOPE):
            kind = METRICS.get(metric['type'])
        if isinstance(kind, type) and issubclass(kind, OfflineFID):
            keep = {
                k: v
                for k, v in copy.deepcopy(dict(metric)).items()
                if k not in ('bootstrap', 'fid_infinity', 'floor')
            }
            return dict(keep, keep_features=True)
    raise ValueError(f'{cfg.filename}: no OfflineFID-type metric in test_evaluator.metrics to score with')


def kind_of(path: str) -> str:
    """'images' (a folder or an .npz) or 'checkpoint'; saved results are refused, saying why."""
    if osp.isdir(path) or path.lower().endswith('.npz'):
        return 'images'
    if path.lower().endswith(SAVED_RESULTS):
        raise ValueError(f'{path}: compare_runs takes checkpoints or image sets, not saved results; a saved '
                         'figure holds no features to resample, and nothing in it says which real statistics '
                         'it was scored against')
    check_checkpoint(path)
    return 'checkpoint'


def provenance(metric: OfflineFID) -> dict:
    """What the scores depend on besides the images: the network and the real statistics' arrays."""
    digest = hashlib.sha256()
    for array in (metric.real_mean, metric.real_cov, metric.real_feats):
        if array is not None:
            digest.update(np.ascontiguousarray(array).tobytes())
    return dict(network=metric.inception.identity(), real_statistics=digest.hexdigest())


def check_same_real(a: dict, b: dict, names: List[str]) -> None:
    """Refuse a comparison whose two sides were scored against different real statistics or networks."""
    problems = [
        f'{key}: {a[key]!r} for {names[0]}, {b[key]!r} for {names[1]}' for key in a if a[key] != b[key]
    ]
    if problems:
        raise ValueError(
            'refusing to compare: the two were scored against different real statistics, so their '
            'difference would mix the runs with the references:\n  - ' + '\n  - '.join(problems) +
            '\n(was the statistics file rewritten between them? score both with one config)')


def run_checkpoint(cfg, metric_cfg: dict, checkpoint: str) -> OfflineFID:
    """``runner.test()`` of ``checkpoint`` with the one metric; the metric, holding its features."""
    cfg = copy.deepcopy(cfg)
    cfg.test_evaluator = dict(type='Evaluator', metrics=[metric_cfg])
    cfg.load_from, cfg.resume = None, False
    cfg.experiment_name = f'compare_runs_{uuid.uuid4().hex[:12]}'  # two runs in one second: own log folders
    with claim_work_dir(cfg):
        runner = Runner.from_cfg(cfg)
        runner.load_checkpoint(checkpoint, map_location='cpu', strict=True)
        runner.test()
    return runner.test_loop.evaluators[0].metrics[0]


def prepared_metric(cfg, metric_cfg: dict) -> OfflineFID:
    """The metric with its real statistics, without a model (for image sets)."""
    with DefaultScope.overwrite_default_scope(SCOPE):
        metric = METRICS.build(metric_cfg)
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        module = SimpleNamespace(data_preprocessor=MODELS.build(cfg.model.data_preprocessor))
    metric.prepare(module, SimpleNamespace(dataset=dataset, batch_size=cfg.test_dataloader.batch_size))
    metric.dataset = dataset
    return metric


def real_dataset(cfg, metric: OfflineFID):
    if getattr(metric, 'dataset', None) is None:
        with DefaultScope.overwrite_default_scope(SCOPE):
            metric.dataset = DATASETS.build(cfg.test_dataloader.dataset)
    return metric.dataset


def class_names(cfg, metric: OfflineFID) -> Optional[List[str]]:
    """The model's class names (the evaluation dataset's), None for an unconditional model."""
    num_classes = cfg.model.get('num_classes') or 0
    if not num_classes:
        return None
    names = list(getattr(real_dataset(cfg, metric), 'metainfo', {}).get('classes') or [])
    return names if len(names) == num_classes else [str(c) for c in range(num_classes)]


@torch.no_grad()
def image_features(cfg, metric: OfflineFID, path: str) -> tuple:
    """Features [N, D] float64 and class ids (or None) of an image set, through the metric's network."""
    sample = real_dataset(cfg, metric)[0]['data_samples']
    resolution = getattr(sample, metric.real_key or 'gt_img').shape[-1]
    images, labels = load_image_set(path, resolution=resolution, class_names=class_names(cfg, metric))
    bgr = images[:, [2, 1, 0]]  # forward_inception takes the models' BGR and flips it back
    feats = torch.cat([metric.forward_inception(chunk) for chunk in bgr.split(metric.feature_batch_size)])
    return feats.cpu().double().numpy(), labels


def real_labels(cfg, metric: OfflineFID) -> np.ndarray:
    """Classes int64 [num real] of the real images the statistics came from (the dataset's first ones)."""
    if getattr(metric, 'real_labels', None) is not None:
        return np.asarray(metric.real_labels)
    dataset = real_dataset(cfg, metric)
    num = len(metric.real_feats)
    return np.concatenate([batch_labels(dataset[i]['data_samples']).numpy() for i in range(num)])
