"""Resize an image with its part masks, landmarks and landmark normaliser."""
from typing import Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from partseg.registry import TRANSFORMS


def _nearest_rows(src: int, dst: int) -> np.ndarray:
    """Source index of each destination pixel, sampled at pixel centres: floor((i + .5) src/dst)."""
    return np.minimum(((np.arange(dst) + 0.5) * src / dst).astype(np.int64), src - 1)


@TRANSFORMS.register_module()
class ResizeParts(BaseTransform):
    """Whole-image resize to (W, H) without crop, Liu et al. 2021 Sec. 4.1 (128 x 128).

    ``scale`` = (W, H) (an int means square). The image is resized with Pillow's antialiased
    bilinear filter; ``gt_seg_map`` and ``gt_fg_mask`` by nearest neighbour at pixel centres;
    ``gt_landmarks`` (x, y) and ``landmark_norm`` (w, h) are scaled per axis by (W' / W, H' / H)
    (pixel-corner convention, so a point at the image's right edge stays there). Updates
    ``img_shape`` and sets ``scale_factor`` (w_scale, h_scale) relative to ``ori_shape`` (composed
    with any earlier resize).
    """

    def __init__(self, scale: Union[int, Sequence[int]]) -> None:
        if isinstance(scale, int) and not isinstance(scale, bool):
            scale = (scale, scale)
        if (not isinstance(scale, Sequence) or len(scale) != 2
                or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                           for s in scale)):
            raise ValueError(f'scale must be a positive int or a (W, H) pair, got {scale!r}')
        self.scale: Tuple[int, int] = (int(scale[0]), int(scale[1]))

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError("ResizeParts needs 'img' in the results (put LoadPartImage first)")
        img = results['img']
        if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3
                and img.shape[2] == 3):
            raise ValueError(f"ResizeParts: 'img' must be an (H, W, 3) uint8 array, got "
                             f'{getattr(img, "dtype", type(img))} {getattr(img, "shape", "")}')
        h, w = img.shape[:2]
        new_w, new_h = self.scale
        sx, sy = new_w / w, new_h / h
        masks = [key for key in ('gt_seg_map', 'gt_fg_mask') if key in results]
        for key in masks:
            if np.shape(results[key]) != (h, w):
                raise ValueError(f"ResizeParts: '{key}' is {np.shape(results[key])} but 'img' is "
                                 f'{(h, w)} (H, W)')
        if (new_w, new_h) != (w, h):
            results['img'] = np.asarray(
                Image.fromarray(img).resize((new_w, new_h), Image.BILINEAR), dtype=np.uint8)
            rows, cols = _nearest_rows(h, new_h), _nearest_rows(w, new_w)
            for key in masks:
                results[key] = results[key][rows[:, None], cols[None, :]]  # (H, W) -> (H', W')
        factor = np.array([sx, sy], dtype=np.float32)
        if 'gt_landmarks' in results:
            results['gt_landmarks'] = (np.asarray(results['gt_landmarks'], np.float32) *
                                       factor).astype(np.float32)
        if 'landmark_norm' in results:
            results['landmark_norm'] = (np.asarray(results['landmark_norm'], np.float32) *
                                        factor).astype(np.float32)
        old_sx, old_sy = results.get('scale_factor', (1.0, 1.0))
        results['scale_factor'] = (old_sx * sx, old_sy * sy)
        results['img_shape'] = (new_h, new_w)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale={self.scale})'
