"""Per-class metrics of a class-conditional generator: intra-FID, per-class KID and precision/recall.

Intra-FID follows Miyato & Koyama 2018 ("cGANs with projection discriminator"): the FID of each class's
generated images against that class's real images, and the mean over classes (their code,
pfnet-research/sngan_projection ``evaluations/calc_intra_FID.py``; StudioGAN's ``-ifid`` likewise). The
generated side is the features the metric already has (one Inception pass for the global and the per-class
figures); the real side is the statistics file's ``real_feats`` with ``real_labels``.
Rule for small classes: fewer than 2 images of a class on either side (no covariance, no unbiased KID), or no
more than ``k`` with precision/recall on, is an error naming the class; fewer than ``warn_below`` is a warning
naming each such class and its counts.
"""
import csv
import json
import logging
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine import print_log
from mmengine.model import is_model_wrapper
from torch import Tensor, nn

from sagan_plugin.registry import METRICS
from .distances import frechet_distance, kernel_distance
from .distances import precision_recall as improved_precision_recall  # the name is class_rows' option
from .offline_fid import OfflineFID
from .uncertainty import bootstrap as resample

WARN_BELOW = 50  # images per class; the published protocols use 5,000 (sngan_projection) or ~1,300 (ImageNet)


def check_labels(labels: np.ndarray, num_classes: int, what: str) -> np.ndarray:
    """``labels`` as int64 [N]; an error naming each value outside ``0 .. num_classes - 1``."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f'{what} labels must be integers [N], got {labels.dtype} of shape {labels.shape}')
    bad, counts = np.unique(labels[(labels < 0) | (labels >= num_classes)], return_counts=True)
    if len(bad):
        found = ', '.join(f'{v} ({n} images)' for v, n in zip(bad.tolist(), counts.tolist()))
        raise ValueError(f'{what} class label(s) {found} outside 0..{num_classes - 1} (num_classes='
                         f'{num_classes}): the model and the dataset must number the same classes')
    return labels.astype(np.int64)


def class_frechet(fake: np.ndarray, real: np.ndarray) -> Tuple[float, float, float]:
    """FID of ``fake`` [n, D] vs ``real`` [m, D] (n, m >= 2): (distance, mean term, trace term).

    With A, R the centred features, ``Tr((Σ_g Σ_r)^{1/2})`` is the sum of the singular values of
    ``A Rᵀ / sqrt((n-1)(m-1))`` [n, m] (the non-zero eigenvalues of ``Σ_g Σ_r`` are those of ``C Cᵀ``), so a
    class of a few hundred images costs no [D, D] matrix; above D images per side :func:`frechet_distance`.
    """
    fake, real = np.asarray(fake, np.float64), np.asarray(real, np.float64)
    if fake.ndim != 2 or real.ndim != 2 or fake.shape[1] != real.shape[1]:
        raise ValueError(f'features must be [n, D] and [m, D], got {fake.shape} and {real.shape}')
    (n, dim), m = fake.shape, len(real)
    if min(n, m) > dim:
        return frechet_distance(
            fake.mean(0), np.cov(fake, rowvar=False), real.mean(0), np.cov(real, rowvar=False))
    centred_fake, centred_real = fake - fake.mean(0), real - real.mean(0)
    trace_sqrt = np.linalg.svd(
        centred_fake @ centred_real.T, compute_uv=False).sum() / np.sqrt((n - 1) * (m - 1))
    mean_term = float(((fake.mean(0) - real.mean(0))**2).sum())
    trace_term = float((centred_fake**2).sum() / (n - 1) + (centred_real**2).sum() / (m - 1) - 2 * trace_sqrt)
    return mean_term + trace_term, mean_term, trace_term


def _minimum(precision_recall: Optional[dict]) -> int:
    """Images a class needs on each side: 2 (covariance, unbiased KID); k + 1 for the k-th neighbour radii."""
    return 2 if precision_recall is None else max(2, precision_recall['k'] + 1)


def _check_counts(num_fake: np.ndarray, num_real: np.ndarray, names: Sequence[str], minimum: int,
                  warn_below: int) -> None:
    """The small-class rule (module docstring) on per-class counts [C]."""
    for c, name in enumerate(names):
        if num_real[c] == 0:
            raise ValueError(
                f'class {c} ({name}) has no real images: the real set (the first real_nums images '
                'of the evaluation dataset; a class-sorted folder needs real_nums=-1) must hold '
                'every class the generator has')
        if min(num_fake[c], num_real[c]) < minimum:
            raise ValueError(f'class {c} ({name}) has {num_fake[c]} generated and {num_real[c]} real images; '
                             f'per-class metrics need at least {minimum} of each (more fake_nums with '
                             'balanced_classes=True, more real_nums, or precision_recall off)')
    small = [c for c in range(len(names)) if min(num_fake[c], num_real[c]) < warn_below]
    if small:
        listed = '; '.join(f'{c} ({names[c]}): {num_fake[c]} generated, {num_real[c]} real' for c in small)
        print_log(
            f'per-class metrics: {len(small)} class(es) with fewer than {warn_below} images, whose figures '
            f'are strongly biased and noisy: {listed}', 'current', logging.WARNING)


def class_rows(fake: np.ndarray,
               fake_labels: np.ndarray,
               real: np.ndarray,
               real_labels: np.ndarray,
               num_classes: int,
               class_names: Optional[Sequence[str]] = None,
               kid: Optional[dict] = None,
               precision_recall: Optional[dict] = None,
               bootstrap: Optional[dict] = None,
               warn_below: int = WARN_BELOW) -> List[dict]:
    """One row per class c: ``class``, ``name``, ``num_fake``, ``num_real``, ``fid`` (of the fake rows [N, D]
    labelled c vs the real rows [M, D] labelled c); with ``kid`` (OfflineFID's kid options) ``kid``,
    ``kid_std`` and ``kid_subset_size`` = min(configured, num_fake, num_real); with ``precision_recall``
    ``precision``, ``recall``; with ``bootstrap`` (uncertainty.bootstrap's options) ``fid_low``, ``fid_high``.
    """
    fake_labels = check_labels(fake_labels, num_classes, 'generated')
    real_labels = check_labels(real_labels, num_classes, 'real')
    if len(fake_labels) != len(fake) or len(real_labels) != len(real):
        raise ValueError(f'{len(fake)} generated features with {len(fake_labels)} labels, {len(real)} real '
                         f'features with {len(real_labels)} labels')
    names = [str(c) for c in range(num_classes)] if class_names is None else [str(n) for n in class_names]
    if len(names) != num_classes:
        raise ValueError(f'{len(names)} class names for num_classes={num_classes}')
    num_fake, num_real = (np.bincount(labels, minlength=num_classes) for labels in (fake_labels, real_labels))
    _check_counts(num_fake, num_real, names, _minimum(precision_recall), warn_below)
    rows = []
    for c in range(num_classes):
        fake_c, real_c = fake[fake_labels == c], real[real_labels == c]
        row = dict({'class': c},
                   name=names[c],
                   num_fake=int(num_fake[c]),
                   num_real=int(num_real[c]),
                   fid=class_frechet(fake_c, real_c)[0])
        if bootstrap is not None:
            spread = resample(fake_c, lambda f, r=real_c: class_frechet(f, r)[0], **bootstrap)
            row.update(fid_low=spread['low'], fid_high=spread['high'])
        if kid is not None:
            size = min(kid['subset_size'], len(fake_c), len(real_c))
            row.update(kernel_distance(fake_c, real_c, **dict(kid, subset_size=size)), kid_subset_size=size)
        if precision_recall is not None:
            row.update(improved_precision_recall(fake_c, real_c, **precision_recall))
        rows.append(row)
    return rows


def summarize(rows: List[dict]) -> dict:
    """Means over classes: ``intra_fid`` and, where the rows have them, ``intra_kid``, ``intra_precision``,
    ``intra_recall``."""
    if not rows:
        raise ValueError('no per-class rows to summarize')
    keys = dict(fid='intra_fid', kid='intra_kid', precision='intra_precision', recall='intra_recall')
    return {out: float(np.mean([row[key] for row in rows])) for key, out in keys.items() if key in rows[0]}


def write_rows(rows: List[dict], stem: str) -> Tuple[str, str]:
    """Write ``rows`` to ``stem.csv`` (one line per class) and ``stem.json`` (a list of the rows)."""
    rows = [{k: v.item() if isinstance(v, np.generic) else v for k, v in row.items()} for row in rows]
    columns = list(dict.fromkeys(key for row in rows for key in row))
    csv_path, json_path = f'{stem}.csv', f'{stem}.json'
    with open(csv_path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    with open(json_path, 'w') as f:
        json.dump(rows, f, indent=2)
    return csv_path, json_path


@METRICS.register_module()
class PerClassFID(OfflineFID):
    """OfflineFID's global keys plus ``intra_fid`` (and ``intra_kid``, ``intra_precision``, ``intra_recall``
    when KID / precision-recall are on); :func:`class_rows`'s table is ``self.rows`` after each evaluation
    (tools/test.py writes it beside ``--out``).

    Args:
        balanced_classes: True (default): class ``i % num_classes`` for generated image ``i``, so each class
            gets ``fake_nums / num_classes`` images (``fake_nums`` must be a multiple of the model's classes).
            False: classes drawn uniformly, per-class counts vary.
        class_names: names for the table; None: the evaluation dataset's ``metainfo['classes']``, or numbers.
        warn_below: warn for classes with fewer images than this on either side (module docstring).
        Others: as :class:`OfflineFID`; ``inception_pkl`` also stores ``real_feats`` and ``real_labels``.
    """
    name = 'PerClassFID'

    def __init__(self,
                 fake_nums: int,
                 balanced_classes: bool = True,
                 class_names: Optional[Sequence[str]] = None,
                 warn_below: int = WARN_BELOW,
                 **kwargs):
        super().__init__(fake_nums=fake_nums, balanced_classes=balanced_classes, **kwargs)
        self.class_names = list(class_names) if class_names is not None else None
        self.warn_below = warn_below
        self.names: Optional[List[str]] = None  # the table's names, from prepare()
        self.rows: Optional[List[dict]] = None

    def needs_real_features(self) -> bool:
        return True  # per-class statistics come from the features of each class

    def needs_real_labels(self) -> bool:
        return True

    def prepare(self, module: nn.Module, dataloader) -> None:
        """Before sampling: OfflineFID's preparation, then every check that needs no generated image."""
        model = module.module if is_model_wrapper(module) else module
        num_classes = getattr(model, 'num_classes', 0) or 0
        if not num_classes:
            raise ValueError(f'{self.name} needs a class-conditional model; {type(model).__name__} has none')
        if self.balanced_classes and self.fake_nums % num_classes:
            raise ValueError(
                f'{self.name}: fake_nums={self.fake_nums} is not a multiple of the model\'s {num_classes} '
                'classes, so balanced_classes=True cannot give every class the same count; use e.g. '
                f'fake_nums={max(1, self.fake_nums // num_classes) * num_classes}')
        super().prepare(module, dataloader)
        names = self.class_names or list(getattr(dataloader.dataset, 'metainfo', {}).get('classes') or [])
        if names and len(names) != num_classes:
            raise ValueError(f'{self.name}: {len(names)} class names (class_names, or the evaluation '
                             f'dataset\'s classes) for a model with {num_classes} classes')
        self.names = names or [str(c) for c in range(num_classes)]
        minimum = _minimum(self.pr_cfg)
        # Generated counts: known when balanced; otherwise only the real side can be checked before sampling.
        fake_counts = np.full(num_classes,
                              self.fake_nums // num_classes if self.balanced_classes else minimum)
        real_counts = np.bincount(check_labels(self.real_labels, num_classes, 'real'), minlength=num_classes)
        _check_counts(fake_counts, real_counts, self.names, minimum, warn_below=0)  # warnings after sampling

    def compute_metrics(self, fake_results: Sequence[Tensor]) -> dict:
        """OfflineFID's global keys, then the per-class table (``self.rows``) and its means."""
        out = super().compute_metrics(fake_results)
        fake = torch.cat(list(fake_results)).cpu().double().numpy()
        self.rows = class_rows(
            fake,
            self.fake_labels(),
            self.real_feats,
            self.real_labels,
            self.latent_shape[1],
            self.names,
            kid=self.kid_cfg,
            precision_recall=self.pr_cfg,
            bootstrap=self.bootstrap_cfg,
            warn_below=self.warn_below)
        out.update(summarize(self.rows))
        return out
