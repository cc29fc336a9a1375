"""Pack pipeline results into an input tensor and a :class:`PartDataSample`."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData

from partseg.registry import TRANSFORMS
from partseg.structures import PartDataSample

DEFAULT_META_KEYS = ('img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip', 'flip_direction',
                     'regression_split', 'sample_idx')


@TRANSFORMS.register_module()
class PackPartInputs(BaseTransform):
    """Packing of the data contract (docs/design.md): uint8 (3, H, W) RGB + a PartDataSample.

    Returns ``{'inputs': uint8 (3, H, W) RGB tensor, 'data_samples': PartDataSample}``. Fills only
    what the results hold: ``gt_sem_seg`` (PixelData (1, H, W) long) from ``gt_seg_map``,
    ``gt_fg_mask`` (PixelData (1, H, W) bool), ``gt_landmarks`` (N, 2) float32,
    ``gt_landmarks_visible`` (N,) bool (all True when landmarks come without it), ``landmark_norm``
    (2,) float32, and the metainfo keys of ``meta_keys`` present in the results.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        if isinstance(meta_keys, str):
            raise TypeError(f'meta_keys must be a sequence of keys, not the string {meta_keys!r}')
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError("PackPartInputs needs 'img' in the results (put LoadPartImage first)")
        img = results['img']
        if not (isinstance(img, np.ndarray) and img.ndim == 3 and img.shape[2] == 3):
            raise ValueError(f"PackPartInputs: 'img' must be an (H, W, 3) array, got "
                             f'{getattr(img, "shape", type(img))}')
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))  # (3, H, W)

        sample = PartDataSample()
        if 'gt_seg_map' in results:
            seg = torch.from_numpy(np.asarray(results['gt_seg_map']).astype(np.int64))
            sample.gt_sem_seg = PixelData(data=seg[None])  # (H, W) -> (1, H, W)
        if 'gt_fg_mask' in results:
            fg = torch.from_numpy(np.asarray(results['gt_fg_mask']).astype(bool))
            sample.gt_fg_mask = PixelData(data=fg[None])  # (H, W) -> (1, H, W)
        if 'gt_landmarks' in results:
            points = np.asarray(results['gt_landmarks'], dtype=np.float32).reshape(-1, 2)
            sample.gt_landmarks = torch.from_numpy(points.copy())
            visible = results.get('gt_landmarks_visible')
            visible = (
                np.ones(len(points), dtype=bool) if visible is None else np.asarray(
                    visible, dtype=bool).reshape(-1))
            if len(visible) != len(points):
                raise ValueError(f"'gt_landmarks_visible' has {len(visible)} entries but "
                                 f"'gt_landmarks' has {len(points)} points")
            sample.gt_landmarks_visible = torch.from_numpy(visible.copy())
        if 'landmark_norm' in results:
            norm = np.asarray(results['landmark_norm'], dtype=np.float32).reshape(-1)
            if norm.shape != (2, ):
                raise ValueError(f"'landmark_norm' must hold 2 values (x, y), got {norm.tolist()}")
            sample.landmark_norm = torch.from_numpy(norm.copy())
        sample.set_metainfo({key: results[key] for key in self.meta_keys if key in results})
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
