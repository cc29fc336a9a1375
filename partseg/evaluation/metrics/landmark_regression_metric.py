"""Landmark regression from part centroids, proxy metric of Liu et al. 2021 / He et al. 2022."""
import logging
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from partseg.evaluation.functional import (FIT_MODES, coordinate_mae_sum, fit_linear_regression,
                                           keypoint_l2_sum, masked_mean, normalized_landmark_errors,
                                           predict_linear_regression)
from partseg.registry import METRICS
from partseg.utils.part_geometry import part_centroids
from .sample_fields import get_field, get_image_size, get_landmarks, get_pixel_data

SPLITS = ('train', 'test')
# mode -> (metric key, which error)
MODES = {
    'normalized_error': 'landmark_error',
    'mae_sum': 'keypoint_mae',
    'l2_sum': 'keypoint_l2_sum',
}
FRAMES = ('img_shape', 'ori_shape')
CENTROID_GRIDS = ('centres', 'linspace')


@METRICS.register_module()
class LandmarkRegressionMetric(BaseMetric):
    """Landmark regression error, Liu et al. 2021 Sec. 4.2 / Eq. (8); He et al. 2022 Sec. 4.1.

    Each sample's part maps (softmax of ``seg_logits`` over channels) give K part centroids
    (Eq. (8), background channel excluded, normalised coordinates; ``z_k`` is the part's total
    mass, which equals Eq. (9)'s ``min(sum S_k, 1)`` for any part covering a pixel's worth of
    mass and keeps a nearly empty part's centre a weighted mean). A linear map from the 2K
    centroid coordinates to the 2N landmark coordinates (normalised by the image size
    ``img_shape``) is fitted on the samples whose metainfo ``regression_split`` is ``'train'``
    and scored on the ``'test'`` ones, so the test dataloader must hold both. Each landmark is
    fitted on the train samples where it is visible and scored where it is visible.

    ``process`` keeps only centroids, landmarks and normalisers per sample, so results gathered
    from all ranks are exact.

    Args:
        fit: ``'no_bias'`` (default; normal equations without bias, as GANSeg and Liu et al.),
            ``'standardized'`` (SCOPS: standardise by train mean/std, no-bias fit,
            de-standardise) or ``'bias'`` (a constant input; the Taichi protocol).
        mode: what is reported.

            - ``'normalized_error'`` (default): ``landmark_error``, per test image the mean over
              visible landmarks of ``||((dx / norm_x), (dy / norm_y))||`` with
              ``landmark_norm`` = (norm_x, norm_y) pixels, averaged over test images with a
              visible landmark, in percent.
            - ``'mae_sum'``: ``keypoint_mae``, Taichi as GANSeg's official code: for each of the
              2N coordinates the mean absolute pixel error over the test images where the
              keypoint is visible, summed over coordinates.
            - ``'l2_sum'``: ``keypoint_l2_sum``, Taichi as the GANSeg paper words it: the
              same with the mean L2 pixel distance per keypoint, summed over the N keypoints.
        ridge_lambda: ridge strength of the fallback for a singular or ill-conditioned
            ``X^T X``, relative to its mean diagonal entry (a warning names the landmarks).
        max_condition: condition number above which ``X^T X`` counts as ill-conditioned.
        ridge_scale: ``'relative'`` (default; λ = ridge_lambda x the mean diagonal of X^T X) or
            ``'absolute'`` (λ = ridge_lambda; with ``ridge_lambda=1`` the official GANSeg
            ``X^T X + I`` fallback).
        report_baselines: also report ``<key>_mean_baseline``, the score of predicting every
            test image's landmarks at the mean train landmark position.
        centroid_grid: pixel coordinates of the centroids (Eq. 8), normalised by the map size:
            ``'centres'`` (default; pixel j at ``(j + 0.5) / S``, the project's convention) or
            ``'linspace'`` (pixel j at ``j / (S - 1)``: the official GANSeg ``test_seg.py`` grid
            ``linspace(0, image_size, S)`` up to a scale, which a regression absorbs; the offset
            between the two changes a fit without bias).
        error_frame: pixel frame of the summed errors (``mae_sum``/``l2_sum``):
            ``'ori_shape'`` (default; the original image, as published Taichi numbers at
            256 px) or ``'img_shape'`` (the network input). Unused by ``normalized_error``,
            which is scale-free.
    """

    default_prefix: Optional[str] = 'parts'

    def __init__(self,
                 fit: str = 'no_bias',
                 mode: str = 'normalized_error',
                 ridge_lambda: float = 1e-6,
                 max_condition: float = 1e10,
                 report_baselines: bool = True,
                 error_frame: str = 'ori_shape',
                 centroid_grid: str = 'centres',
                 ridge_scale: str = 'relative',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if fit not in FIT_MODES:
            raise ValueError(f'LandmarkRegressionMetric: fit must be one of {FIT_MODES}, '
                             f'got {fit!r}')
        if mode not in MODES:
            raise ValueError(f'LandmarkRegressionMetric: mode must be one of {tuple(MODES)}, '
                             f'got {mode!r}')
        if error_frame not in FRAMES:
            raise ValueError(f'LandmarkRegressionMetric: error_frame must be one of {FRAMES}, '
                             f'got {error_frame!r}')
        if not ridge_lambda > 0:
            raise ValueError(f'LandmarkRegressionMetric: ridge_lambda must be > 0, '
                             f'got {ridge_lambda!r}')
        if not max_condition > 1:
            raise ValueError(f'LandmarkRegressionMetric: max_condition must be > 1, '
                             f'got {max_condition!r}')
        if centroid_grid not in CENTROID_GRIDS:
            raise ValueError(f'LandmarkRegressionMetric: centroid_grid must be one of '
                             f'{CENTROID_GRIDS}, got {centroid_grid!r}')
        self.centroid_grid = centroid_grid
        if ridge_scale not in ('relative', 'absolute'):
            raise ValueError(f"LandmarkRegressionMetric: ridge_scale must be 'relative' or "
                             f"'absolute', got {ridge_scale!r}")
        self.ridge_scale = ridge_scale
        self.fit = fit
        self.mode = mode
        self.ridge_lambda = float(ridge_lambda)
        self.max_condition = float(max_condition)
        self.report_baselines = report_baselines
        self.error_frame = error_frame

    def centroids(self, maps: torch.Tensor) -> torch.Tensor:
        """(B, K, H, W) part maps -> (B, K, 2) centroids (x, y) on ``centroid_grid``."""
        if self.centroid_grid == 'centres':
            return part_centroids(maps)
        b, k, h, w = maps.shape
        ys = torch.linspace(0, 1, h, dtype=maps.dtype, device=maps.device)
        xs = torch.linspace(0, 1, w, dtype=maps.dtype, device=maps.device)
        grid = torch.stack(torch.meshgrid(xs, ys, indexing='xy'), dim=-1).view(h * w, 2)
        flat = maps.reshape(b, k, h * w)
        # the official normalisation: mass + 1e-6
        return flat @ grid / (flat.sum(-1, keepdim=True) + 1e-6)  # (B, K, 2)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Reduce each sample to its centroids (K, 2), landmarks (N, 2) and normalisers."""
        name = type(self).__name__
        for sample in data_samples:
            split = get_field(sample, 'regression_split', name)
            if split not in SPLITS:
                raise ValueError(f"{name}: 'regression_split' must be 'train' or 'test', "
                                 f'got {split!r}')
            logits = get_pixel_data(sample, 'seg_logits', name).to(torch.float64)
            if logits.dim() != 3 or logits.shape[0] < 2:
                raise ValueError(f"{name}: 'seg_logits' must be (K+1, H, W) with K >= 1, "
                                 f'got {tuple(logits.shape)}')
            maps = logits.softmax(0)[None, 1:]  # (K+1, H, W) -> (1, K, H, W)
            centroids = self.centroids(maps)[0]  # (1, K, 2) -> (K, 2), normalised (x, y)
            h, w = get_image_size(sample, 'img_shape', name)
            size = np.array([w, h], dtype=np.float64)
            landmarks, visible = get_landmarks(sample, name)
            result = dict(
                split=split,
                centroids=centroids.cpu().numpy(),
                landmarks=landmarks / size,  # (N, 2) pixels -> normalised by (W, H)
                visible=visible,
                size=size)
            if self.mode == 'normalized_error':
                norm = torch.as_tensor(get_field(sample, 'landmark_norm', name))
                norm = norm.detach().cpu().to(torch.float64).numpy().reshape(-1)
                if norm.shape != (2, ) or not (norm > 0).all():
                    raise ValueError(f"{name}: 'landmark_norm' must be 2 positive pixel "
                                     f'lengths, got {norm.tolist()}')
                result['norm'] = norm
            elif self.error_frame == 'ori_shape':
                ori_h, ori_w = get_image_size(sample, 'ori_shape', name)
                result['frame_scale'] = np.array([ori_w / w, ori_h / h])
            else:
                result['frame_scale'] = np.ones(2)
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        name = type(self).__name__
        train = [r for r in results if r['split'] == 'train']
        test = [r for r in results if r['split'] == 'test']
        if not train or not test:
            raise ValueError(f"{name}: the test dataloader must contain samples of both "
                             f"regression_split values, got {len(train)} 'train' and "
                             f"{len(test)} 'test'")
        num_parts = {r['centroids'].shape[0] for r in results}
        num_landmarks = {r['landmarks'].shape[0] for r in results}
        if len(num_parts) > 1 or len(num_landmarks) > 1:
            raise ValueError(f'{name}: every sample must have the same number of parts and '
                             f'landmarks, got parts {sorted(num_parts)} and landmarks '
                             f'{sorted(num_landmarks)}')

        x_train = np.stack([r['centroids'].reshape(-1) for r in train])  # (n, 2K)
        y_train = np.stack([r['landmarks'] for r in train])  # (n, N, 2)
        vis_train = np.stack([r['visible'] for r in train])  # (n, N)
        model = fit_linear_regression(
            x_train,
            y_train,
            vis_train,
            fit=self.fit,
            ridge_lambda=self.ridge_lambda,
            max_condition=self.max_condition,
            ridge_scale=self.ridge_scale)
        if model.ill_conditioned.any():
            ill = np.flatnonzero(model.ill_conditioned)
            print_log(
                f'{name}: X^T X is singular or ill-conditioned (condition number up to '
                f'{model.condition[ill].max():.3g}) for landmark(s) {ill.tolist()} with '
                f'{len(train)} train samples; solved as ridge regression, lambda = '
                f'{self.ridge_lambda:g} x mean diagonal',
                logger='current',
                level=logging.WARNING)

        x_test = np.stack([r['centroids'].reshape(-1) for r in test])
        key = MODES[self.mode]
        metrics = {key: self._score(predict_linear_regression(model, x_test), test)}
        if self.report_baselines:
            mean = masked_mean(y_train, vis_train)  # (N, 2)
            metrics[f'{key}_mean_baseline'] = self._score(
                np.broadcast_to(mean, (len(test), ) + mean.shape), test)
        return metrics

    def _score(self, pred: np.ndarray, test: List[dict]) -> float:
        """Score (n, N, 2) normalised predictions of the test samples in the chosen mode."""
        size = np.stack([r['size'] for r in test])[:, None]  # (n, 1, 2) (W, H)
        gt = np.stack([r['landmarks'] for r in test]) * size  # (n, N, 2) pixels
        visible = np.stack([r['visible'] for r in test])
        pred = pred * size
        if self.mode == 'normalized_error':
            norm = np.stack([r['norm'] for r in test])  # (n, 2)
            errors = normalized_landmark_errors(pred, gt, visible, norm)  # (n,)
            if np.isnan(errors).all():
                raise ValueError(f'{type(self).__name__}: no test sample has a visible landmark')
            return float(np.nanmean(errors) * 100)
        scale = np.stack([r['frame_scale'] for r in test])[:, None]  # (n, 1, 2)
        if not visible.any():
            raise ValueError(f'{type(self).__name__}: no test sample has a visible landmark')
        error_sum = coordinate_mae_sum if self.mode == 'mae_sum' else keypoint_l2_sum
        return error_sum(pred * scale, gt * scale, visible)
