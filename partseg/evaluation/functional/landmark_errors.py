"""Landmark errors of regressed keypoints: normalised L2 (faces, birds) and Taichi's summed errors.

All take pixel coordinates ``pred``, ``gt`` (n, M, 2) as (x, y) and ``visible`` (n, M) bool;
invisible entries are ignored whatever they hold (-1, NaN).
"""
import numpy as np


def _check(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray) -> None:
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 2:
        raise ValueError(f'pred and gt must both be (n, M, 2), got {pred.shape} and {gt.shape}')
    if visible.shape != pred.shape[:2]:
        raise ValueError(f'visible must be (n, M) = {pred.shape[:2]}, got {visible.shape}')


def normalized_landmark_errors(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray,
                               norm: np.ndarray) -> np.ndarray:
    """Per-image landmark error, He et al. 2022 Sec. 4.1: mean L2 distance / normaliser, (n,).

    ``norm`` (n, 2): per-axis normalisers in pixels (x error / norm[0], y error / norm[1]), e.g.
    the inter-ocular distance twice, or the bounding-box (w, h) of Liu et al.'s CUB protocol.
    Images without a visible landmark get NaN.
    """
    _check(pred, gt, visible)
    dist = np.linalg.norm((pred - gt) / norm[:, None, :], axis=-1)  # (n, M, 2) -> (n, M)
    count = visible.sum(1)  # (n,)
    total = np.where(visible, dist, 0.0).sum(1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _per_keypoint_mean(err: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Mean of (n, M, ...) errors over the images where each keypoint is visible -> (M, ...)."""
    vis = visible.reshape(visible.shape + (1, ) * (err.ndim - 2))
    count = vis.sum(0)
    total = np.where(vis, err, 0.0).sum(0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def coordinate_mae_sum(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray) -> float:
    """Taichi MAE as GANSeg's official code computes it: sum over the 2M coordinates of the mean
    absolute error over the images where the keypoint is visible.

    Coordinates never visible are left out of the sum.
    """
    _check(pred, gt, visible)
    per_coord = _per_keypoint_mean(np.abs(pred - gt), visible)  # (M, 2)
    return float(np.nansum(per_coord))


def keypoint_l2_sum(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray) -> float:
    """Taichi MAE as He et al. 2022 Sec. 4.1 words it: sum over the M keypoints of the mean L2
    distance over the images where the keypoint is visible.

    Keypoints never visible are left out of the sum.
    """
    _check(pred, gt, visible)
    per_kp = _per_keypoint_mean(np.linalg.norm(pred - gt, axis=-1), visible)  # (M,)
    return float(np.nansum(per_kp))
