import math

import numpy as np
import pytest

from partseg.evaluation.functional import (coordinate_mae_sum, keypoint_l2_sum,
                                           normalized_landmark_errors)


def test_normalized_errors_per_axis_and_visibility():
    gt = np.zeros((3, 2, 2))
    pred = np.array([
        [[3, 4], [0, 0]],  # image 0: errors (3, 4) and 0
        [[3, 4], [np.nan, np.nan]],  # image 1: landmark 1 invisible (NaN ignored)
        [[1, 1], [1, 1]]
    ])  # image 2: nothing visible
    visible = np.array([[1, 1], [1, 0], [0, 0]], dtype=bool)
    norm = np.array([[10, 10], [6, 8], [1, 1]])
    errors = normalized_landmark_errors(pred, gt, visible, norm)
    # image 0: mean(|(0.3, 0.4)|, 0) = 0.25; image 1: |(3/6, 4/8)| = sqrt(0.5); image 2: NaN
    np.testing.assert_allclose(errors[:2], [0.25, math.sqrt(0.5)])
    assert math.isnan(errors[2])


def test_taichi_sums_by_hand():
    gt = np.zeros((2, 2, 2))
    pred = np.array([[[1, 2], [0, 0]], [[3, 0], [9, 9]]], dtype=float)
    visible = np.array([[1, 1], [1, 0]], dtype=bool)
    # per coordinate mean |error|: kp0 x (1 + 3) / 2 = 2, kp0 y (2 + 0) / 2 = 1, kp1 x 0, y 0
    assert coordinate_mae_sum(pred, gt, visible) == pytest.approx(3.0)
    # per keypoint mean L2: kp0 (sqrt5 + 3) / 2, kp1 0
    assert keypoint_l2_sum(pred, gt, visible) == pytest.approx((math.sqrt(5) + 3) / 2)
    # a keypoint never visible is left out of the sum
    assert coordinate_mae_sum(pred, gt, np.array([[1, 0], [1, 0]], dtype=bool)) == 3.0


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match='pred and gt'):
        coordinate_mae_sum(np.zeros((1, 2, 2)), np.zeros((1, 3, 2)), np.ones((1, 2), bool))
