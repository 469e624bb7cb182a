"""Offline evaluation: FID/KID/precision-recall, IS, a classifier score and timm feature spaces.

Importing this package registers the metrics ``OfflineFID``, ``TimmFD``, ``OfflineIS`` and ``ClassifierScore``
in the ``sagan_plugin`` scope. Nothing here downloads weights
(see weights.py and the README's Evaluation section).
"""
from .classifier_score import ClassifierScore
from .effnet_lite0 import EfficientNetLite0Classifier, build_effnet_lite0, export_effnet_lite0_timm_weights
from .feature_metrics import OfflineFID
from .feature_stats import check_stats, dataset_fingerprint, load_stats, make_stats, save_stats
from .fid_inception import FIDInceptionV3, export_fid_inception
from .frechet import frechet_distance
from .inception_score import InceptionWithLogits, OfflineIS, load_full_inception
from .kid import kid_from_features
from .timm_features import TimmFD, TimmFeatureExtractor

__all__ = [
    'ClassifierScore', 'EfficientNetLite0Classifier', 'FIDInceptionV3', 'InceptionWithLogits', 'OfflineFID',
    'OfflineIS', 'TimmFD', 'TimmFeatureExtractor', 'build_effnet_lite0', 'check_stats', 'dataset_fingerprint',
    'export_effnet_lite0_timm_weights', 'export_fid_inception', 'frechet_distance', 'kid_from_features',
    'load_full_inception', 'load_stats', 'make_stats', 'save_stats'
]
