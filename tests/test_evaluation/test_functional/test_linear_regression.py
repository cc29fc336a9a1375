import math

import numpy as np
import pytest

from partseg.evaluation.functional import (fit_linear_regression, masked_mean,
                                           predict_linear_regression)

# Three inputs (rows) of two features, in eighths: (1, 3), (3, 1), (3, 3); target (1, 1, 3) / 8.
X = np.array([[1, 3], [3, 1], [3, 3]]) / 8
Y = (np.array([1, 1, 3]) / 8).reshape(3, 1, 1)  # (n, M=1, T=1)
ALL = np.ones((3, 1), dtype=bool)


def test_no_bias_normal_equations_by_hand():
    # X^T X = [[19, 15], [15, 19]] / 64, X^T y = [13, 13] / 64  ->  w = (13/34, 13/34)
    model = fit_linear_regression(X, Y, ALL, fit='no_bias')
    np.testing.assert_allclose(model.weight[0, :, 0], [13 / 34, 13 / 34], atol=1e-12)
    assert not model.ill_conditioned.any()
    pred = predict_linear_regression(model, np.array([[3, 3]]) / 8)
    np.testing.assert_allclose(pred, [[[39 / 136]]], atol=1e-12)  # 3/8 * 26/34


def test_standardized_fit_by_hand():
    # x columns: mean 7/24, population std (2 sqrt(2) / 3) / 8 -> standardised
    # (-2, 1, 1) / sqrt2 and (1, -2, 1) / sqrt2; y: mean 5/24, same std -> (-1, -1, 2) / sqrt2.
    # Xs^T Xs = [[3, -1.5], [-1.5, 3]], Xs^T ys = [1.5, 1.5]  ->  w = (1, 1)
    model = fit_linear_regression(X, Y, ALL, fit='standardized')
    std = 2 * math.sqrt(2) / 3 / 8
    np.testing.assert_allclose(model.x_mean, [[7 / 24, 7 / 24]], atol=1e-12)
    np.testing.assert_allclose(model.x_scale, [[std, std]], atol=1e-12)
    np.testing.assert_allclose(model.y_mean, [[5 / 24]], atol=1e-12)
    np.testing.assert_allclose(model.y_scale, [[std]], atol=1e-12)
    np.testing.assert_allclose(model.weight[0, :, 0], [1.0, 1.0], atol=1e-12)
    # y = x1 + x2 - 3/8 fits exactly: standardising acts like a bias
    pred = predict_linear_regression(model, np.array([[1, 1], [3, 3]]) / 8)
    np.testing.assert_allclose(pred[:, 0, 0], [-1 / 8, 3 / 8], atol=1e-12)
    bias = fit_linear_regression(X, Y, ALL, fit='bias')
    np.testing.assert_allclose(bias.weight[0, :, 0], [1, 1, -3 / 8], atol=1e-12)


def test_ridge_fallback_on_singular_gram_by_hand():
    # collinear features: X^T X = s [[1, 1], [1, 1]] with s = 1 + 4 = 5; X^T y = 2 s (1, 1).
    # lambda = 0.5 * trace / 2 = 2.5; (X^T X + lambda I) w = X^T y -> w = 2s / (2s + lambda) = 0.8
    x = np.array([[1.0, 1.0], [2.0, 2.0]])
    y = np.array([[[2.0]], [[4.0]]])
    model = fit_linear_regression(x, y, np.ones((2, 1), dtype=bool), ridge_lambda=0.5)
    assert model.ill_conditioned.tolist() == [True]
    np.testing.assert_allclose(model.weight[0, :, 0], [0.8, 0.8], atol=1e-12)
    # a tiny lambda gives (almost) the minimum-norm exact solution w = (1, 1)
    model = fit_linear_regression(x, y, np.ones((2, 1), dtype=bool))
    np.testing.assert_allclose(model.weight[0, :, 0], [1.0, 1.0], rtol=1e-5)


def test_each_group_uses_only_its_visible_rows():
    # group 0 sees all rows; group 1 misses row 3, whose target is garbage (NaN)
    x = np.vstack([X, [[1 / 8, 1 / 8]]])
    y = np.concatenate([np.concatenate([Y, Y], 1), [[[0.5], [np.nan]]]])  # (4, 2, 1)
    mask = np.array([[1, 1], [1, 1], [1, 1], [1, 0]], dtype=bool)
    model = fit_linear_regression(x, y, mask)
    alone = fit_linear_regression(X, Y, ALL)
    np.testing.assert_allclose(model.weight[1], alone.weight[0], atol=1e-12)
    assert np.isfinite(model.weight).all()
    np.testing.assert_allclose(masked_mean(y, mask)[:, 0], [(5 / 8 + 0.5) / 4, 5 / 24])


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='visible in no train sample'):
        fit_linear_regression(X, Y, np.zeros((3, 1), dtype=bool))
    with pytest.raises(ValueError, match='fit must be one of'):
        fit_linear_regression(X, Y, ALL, fit='lasso')
    with pytest.raises(ValueError, match='disagree'):
        fit_linear_regression(X, Y[:2], ALL)


def test_absolute_ridge_is_the_official_plus_identity_fallback():
    """Official test_seg.py: beta = (X^T X + I)^-1 X^T y when X^T X cannot be inverted."""
    x = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])  # duplicate columns: singular X^T X
    y = np.array([[1.0], [2.0], [4.0]])[:, None, :]  # (n, M=1, T=1)
    mask = np.ones((3, 1), dtype=bool)
    model = fit_linear_regression(x, y, mask, ridge_lambda=1.0, ridge_scale='absolute')
    # hand values: X^T X = [[14, 14], [14, 14]], X^T y = [17, 17]; (X^T X + I) beta = X^T y
    # -> beta_1 = beta_2 = 17 / 29
    np.testing.assert_allclose(model.weight[0, :, 0], [17 / 29, 17 / 29], rtol=1e-12)
    assert model.ill_conditioned[0]
    with pytest.raises(ValueError, match='ridge_scale'):
        fit_linear_regression(x, y, mask, ridge_scale='constant')
