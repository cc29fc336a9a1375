"""partseg's metrics (mmengine ``BaseMetric``s in ``METRICS``), exact under DDP.

Every metric reduces each sample to a few numbers in ``process`` (one ``results`` entry per
sample, so mmengine's ``collect_results(size)`` trims padding correctly) and scores once.

Key naming: every metric has the prefix ``parts``, so keys print as ``parts/<key>``. Errors and
NMI/ARI are in percent (as the papers report them), IoUs are fractions, Taichi sums are pixels.

- ``LandmarkRegressionMetric``: ``landmark_error`` (%), or ``keypoint_mae`` / ``keypoint_l2_sum``
  (pixels) in the Taichi modes; ``<key>_mean_baseline`` = the same score predicting the mean
  train landmark position.
- ``ForegroundIoUMetric``: ``fg_iou``, ``fg_iou_all_foreground_baseline``,
  ``fg_iou_centred_ellipse_baseline`` (fractions).
- ``PartNMIARIMetric``: ``nmi``, ``ari`` (with background), ``nmi_fg``, ``ari_fg`` (without), %.
"""
from .foreground_iou_metric import ForegroundIoUMetric
from .landmark_regression_metric import LandmarkRegressionMetric
from .part_nmi_ari_metric import PartNMIARIMetric

__all__ = ['ForegroundIoUMetric', 'LandmarkRegressionMetric', 'PartNMIARIMetric']
