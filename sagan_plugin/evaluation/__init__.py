"""Offline evaluation: FID/KID/precision-recall, IS, a classifier score and timm feature spaces.

Importing this package registers ``OfflineFID``, ``OfflineIS``, ``ClassifierScore`` and ``TimmFD`` in the
``sagan_plugin`` scope. Reading order: weights.py (where each network's file comes from), inception.py (the
TF-2015 Inception), generated_image_metric.py (what all metrics share), offline_fid.py, stats_cache.py,
offline_is.py, classifier_score.py, timm_fd.py.
"""
from .classifier_score import ClassifierScore, EfficientNetLite0Classifier, export_effnet_lite0_timm_weights
from .inception import FIDInceptionV3, export_fid_inception, load_full_inception, torch_fidelity_state_dict
from .offline_fid import OfflineFID, frechet_distance, kernel_distance, precision_recall
from .offline_is import OfflineIS, inception_score
from .stats_cache import check_stats, dataset_fingerprint, load_stats, make_stats, save_stats
from .timm_fd import TimmFD, TimmFeatureExtractor

__all__ = [
    'ClassifierScore', 'EfficientNetLite0Classifier', 'FIDInceptionV3', 'OfflineFID', 'OfflineIS', 'TimmFD',
    'TimmFeatureExtractor', 'check_stats', 'dataset_fingerprint', 'export_effnet_lite0_timm_weights',
    'export_fid_inception', 'frechet_distance', 'inception_score', 'kernel_distance', 'load_full_inception',
    'load_stats', 'make_stats', 'precision_recall', 'save_stats', 'torch_fidelity_state_dict'
]
