"""Pure numpy / torch functions behind partseg's metrics and diagnostics (no mmengine state)."""
from .appearance_diagnostics import appearance_diagnostics, colourfulness, feature_spread
from .clustering_scores import adjusted_rand_index, contingency_table, normalized_mutual_info
from .landmark_errors import coordinate_mae_sum, keypoint_l2_sum, normalized_landmark_errors
from .linear_regression import (FIT_MODES, LinearRegressionFit, fit_linear_regression, masked_mean,
                                predict_linear_regression)
from .mask_iou import centred_ellipse_mask, mask_iou

__all__ = [
    'appearance_diagnostics', 'colourfulness', 'feature_spread', 'adjusted_rand_index',
    'contingency_table', 'normalized_mutual_info', 'coordinate_mae_sum', 'keypoint_l2_sum',
    'normalized_landmark_errors', 'FIT_MODES', 'LinearRegressionFit', 'fit_linear_regression',
    'masked_mean', 'predict_linear_regression', 'centred_ellipse_mask', 'mask_iou'
]
