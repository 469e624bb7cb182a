"""Offline evaluation on mmagic's metrics: FID/KID/precision-recall, IS and a classifier score.

Importing this package registers ``OfflineFID`` (mmagic's ``FrechetInceptionDistance``), ``OfflineIS``
(mmagic's ``InceptionScore``), ``ClassifierScore`` and ``PerClassFID`` (OfflineFID plus intra-FID and
per-class KID/precision-recall) in the ``sagan_plugin`` scope. Reading order: weights.py (where each network's
file comes from), inception.py (the TF-2015 Inception, torch-fidelity's), generated_image_metric.py (the
seeded generated images all metrics share), offline_fid.py (distances.py, uncertainty.py, fid_infinity.py,
floor.py), stats_cache.py and real_features.py (the real side), offline_is.py, classifier_score.py,
per_class.py; sweep.py and image_sets.py serve the tools.
"""
from .classifier_score import ClassifierScore, EfficientNetLite0Classifier
from .inception import FIDInceptionV3, export_fid_inception, torch_fidelity_state_dict
from .offline_fid import OfflineFID, frechet_distance, kernel_distance, precision_recall
from .offline_is import OfflineIS
from .per_class import PerClassFID, class_rows, summarize, write_rows
from .stats_cache import check_stats, dataset_fingerprint, load_stats, make_stats, save_stats

__all__ = [
    'ClassifierScore', 'EfficientNetLite0Classifier', 'FIDInceptionV3', 'OfflineFID', 'OfflineIS',
    'check_stats', 'dataset_fingerprint', 'export_fid_inception', 'frechet_distance', 'kernel_distance',
    'load_stats', 'make_stats', 'precision_recall', 'save_stats', 'torch_fidelity_state_dict', 'PerClassFID',
    'class_rows', 'summarize', 'write_rows'
]
