"""Crop an image with its masks and landmarks to the object's bounding box."""
import math
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from partseg.registry import TRANSFORMS


def _crop_window(bbox: np.ndarray, padding: float, square: bool) -> Tuple[int, int, int, int]:
    """Integer (left, top, right, bottom) covering the padded box; right/bottom exclusive."""
    x1, y1, x2, y2 = (float(v) for v in bbox)
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"'bbox' must be (x1, y1, x2, y2) with x2 > x1 and y2 > y1, got "
                         f'{[x1, y1, x2, y2]}')
    w, h = x2 - x1, y2 - y1
    x1, x2 = x1 - padding * w, x2 + padding * w
    y1, y2 = y1 - padding * h, y2 + padding * h
    if square:
        cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) / 2
        x1, x2, y1, y2 = cx - half, cx + half, cy - half, cy + half
    left, top = math.floor(x1), math.floor(y1)
    return left, top, max(math.ceil(x2), left + 1), max(math.ceil(y2), top + 1)


def _crop(array: np.ndarray, window: Tuple[int, int, int, int], fill) -> np.ndarray:
    """Cut ``window`` out of an (H, W, ...) array, filling the part outside the array."""
    left, top, right, bottom = window
    h, w = array.shape[:2]
    out = np.full((bottom - top, right - left) + array.shape[2:], fill, dtype=array.dtype)
    sx0, sy0, sx1, sy1 = max(left, 0), max(top, 0), min(right, w), min(bottom, h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - top:sy1 - top, sx0 - left:sx1 - left] = array[sy0:sy1, sx0:sx1]
    return out


@TRANSFORMS.register_module()
class CropToBBox(BaseTransform):
    """Crop ``img``, ``gt_seg_map``, ``gt_fg_mask`` and ``gt_landmarks`` to ``results['bbox']``.

    Liu et al. 2021 (Sec. 3.1, Sec. 4.3) assume the object is roughly centred by its bounding box
    (CUB, PASCAL VOC); the papers give no enlargement, so the base configs crop the box itself.
    ``bbox`` is (x1, y1, x2, y2) in pixel-corner coordinates; after optional ``padding`` (a
    fraction of the box width / height added on each side) and ``square`` (grow the shorter side
    about the centre), the crop window is rounded outwards to whole pixels. Parts of the window
    outside the image are filled with ``pad_val`` (image) and 0 / False (masks), as Pillow's
    ``crop`` does. Landmarks and the box are shifted by the window's top-left corner;
    ``landmark_norm`` (a length in pixels) is unchanged. Updates ``img_shape`` and sets
    ``crop_bbox`` (left, top, right, bottom) in the original image.

    Args:
        padding: box enlargement per side as a fraction of its width / height.
        square: make the window square.
        pad_val: image value outside the image.
    """

    def __init__(self, padding: float = 0.0, square: bool = False, pad_val: int = 0) -> None:
        if padding < 0:
            raise ValueError(f'padding must be >= 0, got {padding}')
        self.padding = float(padding)
        self.square = bool(square)
        self.pad_val = pad_val

    def transform(self, results: dict) -> dict:
        for key in ('img', 'bbox'):
            if key not in results:
                raise KeyError(f"CropToBBox needs '{key}' in the results")
        bbox = np.asarray(results['bbox'], dtype=np.float64).reshape(-1)
        if bbox.shape != (4, ):
            raise ValueError(f"'bbox' must hold 4 numbers (x1, y1, x2, y2), got {bbox.tolist()}")
        window = _crop_window(bbox, self.padding, self.square)
        left, top, right, bottom = window
        results['img'] = _crop(results['img'], window, self.pad_val)
        for key in ('gt_seg_map', 'gt_fg_mask'):
            if key in results:
                results[key] = _crop(results[key], window, 0)
        offset = np.array([left, top], dtype=np.float32)
        if 'gt_landmarks' in results:
            results['gt_landmarks'] = (np.asarray(results['gt_landmarks'], np.float32) -
                                       offset).astype(np.float32)
        results['bbox'] = (bbox - np.tile(offset, 2)).astype(np.float32)
        results['crop_bbox'] = (left, top, right, bottom)
        results['img_shape'] = (bottom - top, right - left)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(padding={self.padding}, square={self.square}, '
                f'pad_val={self.pad_val})')
