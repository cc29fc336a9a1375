"""Random crop of random area and aspect ratio, resized back: GANSeg CUB / Flowers augmentation."""
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from partseg.registry import TRANSFORMS
from partseg.utils.checks import check_int
from .resize_parts import ResizeParts


def _check_range(value, key: str, low: float, high: float) -> Tuple[float, float]:
    if (not isinstance(value, Sequence) or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or not low < value[0] <= value[1] <= high):
        raise ValueError(f'RandomResizedCropParts: {key} must be (min, max) with '
                         f'{low} < min <= max <= {high}, got {value!r}')
    return float(value[0]), float(value[1])


@TRANSFORMS.register_module()
class RandomResizedCropParts(BaseTransform):
    """Random-area, random-aspect crop resized back: the official GANSeg CUB / Flowers loader.

    He et al. 2022's code trains stage 1 on CUB and Flowers with torchvision's
    ``RandomResizedCrop((128, 128), scale=(0.9, 1.0), ratio=(0.9, 1.1))`` (the paper omits it).

    The window follows torchvision's sampler: up to ``max_attempts`` times draw an area fraction
    ``s ~ U(crop_ratio_range)`` and an aspect ratio ``r = exp(U(log aspect_ratio_range))``
    (width / height), take ``w = round(√(s·H·W·r))``, ``h = round(√(s·H·W / r))`` and, if the
    window fits, a uniformly random position (top ``~ U{0..H−h}``, left ``~ U{0..W−w}``);
    otherwise the centred window of the whole image clamped to ``aspect_ratio_range``.
    The window is cut out of ``img``, ``gt_seg_map`` and ``gt_fg_mask``; ``gt_landmarks`` move
    with it (they may leave the image; visibility is kept, as :class:`CropToBBox` does); then
    :class:`ResizeParts` resizes everything to ``scale`` (image bilinear, masks nearest, landmarks
    and ``landmark_norm`` scaled). Sets ``crop_bbox`` (left, top, right, bottom) in the input.

    Args:
        scale (int | (W, H), optional): output size; None keeps the input's size.
        crop_ratio_range (tuple): range of the window's area over the image's (official 0.9-1).
        aspect_ratio_range (tuple): range of the window's width / height (official 0.9-1.1).
        max_attempts (int): tries before falling back to the centred window (torchvision: 10).
    """

    def __init__(self,
                 scale: Optional[Union[int, Sequence[int]]] = None,
                 crop_ratio_range: Sequence[float] = (0.08, 1.0),
                 aspect_ratio_range: Sequence[float] = (3 / 4, 4 / 3),
                 max_attempts: int = 10) -> None:
        self.resize = None if scale is None else ResizeParts(scale)
        self.crop_ratio_range = _check_range(crop_ratio_range, 'crop_ratio_range', 0.0, 1.0)
        self.aspect_ratio_range = _check_range(aspect_ratio_range, 'aspect_ratio_range', 0.0,
                                               math.inf)
        check_int(max_attempts, 'max_attempts', 0, owner='RandomResizedCropParts')
        self.max_attempts = max_attempts

    @cache_randomness
    def crop_window(self, height: int, width: int) -> Tuple[int, int, int, int]:
        """(top, left, h, w) of a random window of an H x W image (torchvision's sampler)."""
        area = height * width
        log_low, log_high = (math.log(r) for r in self.aspect_ratio_range)
        for _ in range(self.max_attempts):
            target = area * np.random.uniform(*self.crop_ratio_range)
            ratio = math.exp(np.random.uniform(log_low, log_high))
            w = int(round(math.sqrt(target * ratio)))
            h = int(round(math.sqrt(target / ratio)))
            if 0 < w <= width and 0 < h <= height:
                top = int(np.random.randint(0, height - h + 1))
                left = int(np.random.randint(0, width - w + 1))
                return top, left, h, w
        # fallback: the whole image, cut to the nearest allowed aspect ratio, centred
        in_ratio = width / height
        if in_ratio < self.aspect_ratio_range[0]:
            w, h = width, int(round(width / self.aspect_ratio_range[0]))
        elif in_ratio > self.aspect_ratio_range[1]:
            w, h = int(round(height * self.aspect_ratio_range[1])), height
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError("RandomResizedCropParts needs 'img' in the results (put LoadPartImage "
                           'first)')
        img = results['img']
        if not (isinstance(img, np.ndarray) and img.ndim == 3):
            raise ValueError("RandomResizedCropParts: 'img' must be an (H, W, 3) array, got "
                             f'{getattr(img, "shape", type(img))}')
        height, width = img.shape[:2]
        masks = [key for key in ('gt_seg_map', 'gt_fg_mask') if key in results]
        for key in masks:
            if np.shape(results[key]) != (height, width):
                raise ValueError(f"RandomResizedCropParts: '{key}' is {np.shape(results[key])} "
                                 f"but 'img' is {(height, width)} (H, W)")
        top, left, h, w = self.crop_window(height, width)
        for key in ['img'] + masks:
            results[key] = np.ascontiguousarray(results[key][top:top + h, left:left + w])
        if 'gt_landmarks' in results:
            offset = np.array([left, top], dtype=np.float32)
            results['gt_landmarks'] = (np.asarray(results['gt_landmarks'], np.float32) -
                                       offset).astype(np.float32)
        results['crop_bbox'] = (left, top, left + w, top + h)
        results['img_shape'] = (h, w)
        resize = self.resize if self.resize is not None else ResizeParts((width, height))
        return resize(results)

    def __repr__(self) -> str:
        scale = None if self.resize is None else self.resize.scale
        return (f'{self.__class__.__name__}(scale={scale}, '
                f'crop_ratio_range={self.crop_ratio_range}, '
                f'aspect_ratio_range={self.aspect_ratio_range}, max_attempts={self.max_attempts})')
