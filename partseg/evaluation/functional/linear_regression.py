"""Masked linear regression from part centroids to landmarks (the landmark-regression protocol).

Liu et al. 2021 Sec. 4.2 / He et al. 2022 Sec. 4.1 fit a linear map without bias by the normal
equations; SCOPS (Hung et al. 2019) standardises inputs and targets first, which acts like a
bias. Targets come in groups (one group = one landmark, its two coordinates); every group is
fitted on the rows where its landmark is visible, all groups at once with batched solves.
"""
from typing import NamedTuple, Tuple

import numpy as np

FIT_MODES = ('no_bias', 'standardized', 'bias')
RIDGE_SCALES = ('relative', 'absolute')

# A standard deviation below this is treated as zero (the column is constant): scale 1 instead,
# as scikit-learn's StandardScaler does.
_MIN_SCALE = 1e-12


class LinearRegressionFit(NamedTuple):
    """A fitted map ``y_m = ((x - x_mean_m) / x_scale_m) [, 1] @ weight_m * y_scale_m + y_mean_m``.

    Shapes: ``weight`` (M, D', T) with D' = D (+1 with a bias column); ``x_mean``/``x_scale``
    (M, D); ``y_mean``/``y_scale`` (M, T); ``condition`` (M,) condition numbers of the Gram
    matrices; ``ill_conditioned`` (M,) bool, the groups solved with the ridge fallback.
    """
    weight: np.ndarray
    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: np.ndarray
    y_scale: np.ndarray
    bias: bool
    condition: np.ndarray
    ill_conditioned: np.ndarray
    ridge_lambda: np.ndarray


def _check_inputs(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> Tuple[int, int, int, int]:
    if x.ndim != 2 or y.ndim != 3 or mask.ndim != 2:
        raise ValueError(f'expected x (n, D), y (n, M, T), mask (n, M); got shapes {x.shape}, '
                         f'{y.shape}, {mask.shape}')
    n, d = x.shape
    if y.shape[0] != n or mask.shape != y.shape[:2]:
        raise ValueError(f'x, y and mask disagree: shapes {x.shape}, {y.shape}, {mask.shape}')
    return n, d, y.shape[1], y.shape[2]


def _check_groups_have_rows(mask: np.ndarray) -> np.ndarray:
    """(n, M) mask -> (M,) row counts; a group without rows cannot be fitted."""
    counts = mask.sum(0)
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0).tolist()
        raise ValueError(f'landmark(s) {missing} are visible in no train sample; cannot fit them')
    return counts


def masked_mean(y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-group mean of (n, M, T) targets over the rows where ``mask`` (n, M) holds -> (M, T)."""
    counts = _check_groups_have_rows(mask)  # (M,)
    clean = np.where(mask[..., None], y, 0.0)  # invisible targets may hold -1 or NaN
    return clean.sum(0) / counts[:, None]


def _masked_std(values: np.ndarray, mean: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Population std of (M, n, F) values around (M, F) means, rows weighted by (M, n) 0/1."""
    dev = values - mean[:, None]  # (M, n, F)
    var = np.einsum('mn,mnf->mf', weights, dev**2) / weights.sum(1, keepdims=True)
    std = np.sqrt(var)
    return np.where(std < _MIN_SCALE, 1.0, std)


def _design(x: np.ndarray, x_mean: np.ndarray, x_scale: np.ndarray, bias: bool) -> np.ndarray:
    """(n, D) inputs -> (M, n, D') design matrices of every group."""
    design = (x[None] - x_mean[:, None]) / x_scale[:, None]  # (n, D) -> (M, n, D)
    if bias:
        ones = np.ones(design.shape[:2] + (1, ), dtype=design.dtype)
        design = np.concatenate((design, ones), axis=2)  # (M, n, D) -> (M, n, D + 1)
    return design


def fit_linear_regression(x: np.ndarray,
                          y: np.ndarray,
                          mask: np.ndarray,
                          fit: str = 'no_bias',
                          ridge_lambda: float = 1e-6,
                          max_condition: float = 1e10,
                          ridge_scale: str = 'relative') -> LinearRegressionFit:
    """Landmark regressor, He et al. 2022 Sec. 4.1: normal equations ``X^T X W = X^T Y`` per group.

    ``x`` (n, D) inputs (flattened part centroids), ``y`` (n, M, T) targets grouped by landmark,
    ``mask`` (n, M) bool: which rows each group is fitted on (visibility; values of masked-out
    targets are ignored, NaN included). ``fit``: ``'no_bias'`` (GANSeg, Liu et al.),
    ``'standardized'`` (SCOPS: each group's inputs and targets standardised by their mean and
    population std over its rows, a no-bias fit, then de-standardised; a constant column keeps
    scale 1) or ``'bias'`` (a column of ones appended). A group whose Gram matrix ``X^T X`` is
    singular or has condition number above ``max_condition`` is solved as ridge regression with
    ``lambda = ridge_lambda * trace(X^T X) / D'`` (``ridge_scale='relative'``, unit-free) or
    ``lambda = ridge_lambda`` (``'absolute'``: the official GANSeg ``test_seg.py`` solves
    ``(X^T X + I)`` when ``X^T X`` cannot be inverted, i.e. ``ridge_lambda=1``); the returned
    ``ill_conditioned`` flags say which.
    """
    if fit not in FIT_MODES:
        raise ValueError(f'fit must be one of {FIT_MODES}, got {fit!r}')
    if ridge_scale not in RIDGE_SCALES:
        raise ValueError(f'ridge_scale must be one of {RIDGE_SCALES}, got {ridge_scale!r}')
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    _, d, m, t = _check_inputs(x, y, mask)
    _check_groups_have_rows(mask)
    weights = mask.T.astype(np.float64)  # (n, M) -> (M, n)
    y_groups = np.where(mask[..., None], y, 0.0).transpose(1, 0, 2)  # (n, M, T) -> (M, n, T)

    if fit == 'standardized':
        y_mean = masked_mean(y, mask)  # (M, T)
        x_mean = weights @ x / weights.sum(1, keepdims=True)  # (M, n) @ (n, D) -> (M, D)
        x_scale = _masked_std(np.broadcast_to(x, (m, ) + x.shape), x_mean, weights)
        y_scale = _masked_std(y_groups, y_mean, weights)
    else:
        x_mean, x_scale = np.zeros((m, d)), np.ones((m, d))
        y_mean, y_scale = np.zeros((m, t)), np.ones((m, t))

    design = _design(x, x_mean, x_scale, bias=fit == 'bias')  # (M, n, D')
    targets = (y_groups - y_mean[:, None]) / y_scale[:, None]  # (M, n, T)
    gram = np.einsum('mn,mnd,mne->mde', weights, design, design)  # (M, D', D')
    moment = np.einsum('mn,mnd,mnt->mdt', weights, design, targets)  # (M, D', T)

    with np.errstate(divide='ignore', invalid='ignore'):
        condition = np.linalg.cond(gram)  # (M,)
    ill = ~np.isfinite(condition) | (condition > max_condition)
    size = gram.shape[-1]
    diag_mean = np.trace(gram, axis1=1, axis2=2) / size  # (M,)
    scale = np.where(diag_mean > 0, diag_mean, 1.0) if ridge_scale == 'relative' else 1.0
    lam = ridge_lambda * scale * ill  # (M,), 0 where well posed
    weight = np.linalg.solve(gram + lam[:, None, None] * np.eye(size), moment)  # (M, D', T)
    return LinearRegressionFit(weight, x_mean, x_scale, y_mean, y_scale, fit == 'bias', condition,
                               ill, lam)


def predict_linear_regression(model: LinearRegressionFit, x: np.ndarray) -> np.ndarray:
    """Apply a :func:`fit_linear_regression` result to (n, D) inputs -> (n, M, T) predictions."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != model.x_mean.shape[1]:
        raise ValueError(f'expected inputs of shape (n, {model.x_mean.shape[1]}), got {x.shape}')
    design = _design(x, model.x_mean, model.x_scale, model.bias)  # (M, n, D')
    pred = design @ model.weight  # (M, n, D') @ (M, D', T) -> (M, n, T)
    pred = pred * model.y_scale[:, None] + model.y_mean[:, None]
    return pred.transpose(1, 0, 2)  # (M, n, T) -> (n, M, T)
