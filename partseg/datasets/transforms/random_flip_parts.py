"""Random horizontal flip of an image with its part masks and landmarks."""
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from partseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomFlipParts(BaseTransform):
    """Horizontal flip in the pixel convention of docs/design.md (Data contract): x -> W - x.

    Flips ``img``, ``gt_seg_map``, ``gt_fg_mask`` and ``gt_landmarks`` left-right with ``prob``.
    Landmarks map as x -> W - x (pixel-corner convention: pixel j's centre j + .5 goes to the centre
    of pixel W - 1 - j). With ``landmark_flip_indices`` the flipped landmark i is the old landmark
    ``landmark_flip_indices[i]`` (swapping e.g. left and right eyes); visibility follows. Sets
    ``flip`` (bool) and ``flip_direction`` ('horizontal' or None).
    """

    def __init__(self,
                 prob: float = 0.5,
                 landmark_flip_indices: Optional[Sequence[int]] = None) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must lie in [0, 1], got {prob}')
        if landmark_flip_indices is not None:
            indices = np.asarray(landmark_flip_indices)
            if (indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer)
                    or sorted(indices.tolist()) != list(range(len(indices)))):
                raise ValueError('landmark_flip_indices must be a permutation of 0..N-1, got '
                                 f'{list(landmark_flip_indices)}')
            landmark_flip_indices = indices.astype(np.int64)
        self.prob = prob
        self.landmark_flip_indices = landmark_flip_indices

    @cache_randomness
    def _do_flip(self) -> bool:
        return bool(np.random.rand() < self.prob)

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError("RandomFlipParts needs 'img' in the results (put LoadPartImage first)")
        flip = self._do_flip()
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        if not flip:
            return results
        height, width = results['img'].shape[:2]
        for key in ('gt_seg_map', 'gt_fg_mask'):
            if key in results and np.shape(results[key]) != (height, width):
                raise ValueError(f"RandomFlipParts: '{key}' is {np.shape(results[key])} but 'img' "
                                 f'is {(height, width)} (H, W)')
        for key in ('img', 'gt_seg_map', 'gt_fg_mask'):
            if key in results:
                results[key] = np.ascontiguousarray(results[key][:, ::-1])  # mirror columns
        if 'gt_landmarks' in results:
            points = np.array(results['gt_landmarks'], dtype=np.float32)  # (N, 2)
            points[:, 0] = width - points[:, 0]
            if self.landmark_flip_indices is not None:
                if len(self.landmark_flip_indices) != len(points):
                    raise ValueError(
                        f'landmark_flip_indices has {len(self.landmark_flip_indices)} entries '
                        f"but 'gt_landmarks' has {len(points)} points")
                points = points[self.landmark_flip_indices]
                if 'gt_landmarks_visible' in results:
                    results['gt_landmarks_visible'] = np.asarray(
                        results['gt_landmarks_visible'])[self.landmark_flip_indices]
            results['gt_landmarks'] = points
        return results

    def __repr__(self) -> str:
        indices = self.landmark_flip_indices
        indices = None if indices is None else indices.tolist()
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'landmark_flip_indices={indices})')
