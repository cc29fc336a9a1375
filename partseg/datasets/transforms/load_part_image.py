"""Load an image as RGB uint8 with one-line errors that name the file."""
import os.path as osp
import struct
import warnings
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image, ImageOps, UnidentifiedImageError

from partseg.registry import TRANSFORMS
from partseg.utils.checks import check_int

# Pillow's decompression-bomb warning threshold (PIL.Image.MAX_IMAGE_PIXELS): 1024^3 / 4 / 3.
DEFAULT_MAX_PIXELS = 89_478_485


class _TooLarge(Exception):
    """An image over ``max_pixels`` (kept apart from Pillow's own errors)."""


def _check_landmarks_inside(results: dict, name: str, w: int, h: int) -> None:
    """Raise a one-line ValueError if a visible landmark is not finite or lies outside the image."""
    points = np.asarray(results['gt_landmarks'], dtype=np.float64).reshape(-1, 2)  # (N, 2) x, y
    visible = results.get('gt_landmarks_visible')
    visible = (
        np.ones(len(points), dtype=bool)
        if visible is None else np.asarray(visible, dtype=bool).reshape(-1))
    x, y = points[:, 0], points[:, 1]
    with np.errstate(invalid='ignore'):
        inside = np.isfinite(points).all(1) & (x >= 0) & (x <= w) & (y >= 0) & (y <= h)
    bad = np.flatnonzero(visible & ~inside)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f'image {name}: visible landmark {i} at (x, y) = ({x[i]:g}, {y[i]:g}) '
                         f'lies outside the {w}x{h} image ({bad.size} such landmark(s)); fix the '
                         'annotation, mark it invisible, or use '
                         'LoadPartImage(check_landmarks=False)')


def _grey_peak(mode: str, arr: np.ndarray, high_depth: bool) -> float:
    """White level of a greyscale image in Pillow mode I;16*, I (32-bit) or F (float).

    A 16-bit file is scaled by 65535 whatever its values (a dark 16-bit image stays dark); 32-bit
    integer and float data, whose range the file does not state, by the smallest of 1 (float
    only), 255, 65535 and their maximum that holds every value.
    """
    if mode.startswith('I;16') or high_depth:
        return 65535.0
    top = float(arr.max(initial=0.0))
    for peak in ((1.0, ) if mode == 'F' else ()) + (255.0, 65535.0):
        if top <= peak:
            return peak
    return top


def _to_rgb_uint8(img: Image.Image, path: str, high_depth: bool) -> np.ndarray:
    """Convert any PIL mode to an (H, W, 3) uint8 RGB array, warning when it is not 8-bit RGB.

    ``high_depth``: the file stores 16 bits per channel (Pillow already decoded RGB to 8 bits).
    """
    mode = img.mode
    if mode == 'RGB':
        if high_depth:
            warnings.warn(f'{path}: converted a 16-bit RGB image to RGB uint8', stacklevel=3)
        return np.asarray(img, dtype=np.uint8).copy()
    if mode == 'P':  # palette: keep transparency if the palette has some
        img = img.convert('RGBA' if 'transparency' in img.info else 'RGB')
    elif mode.startswith('I') or mode == 'F':  # 16-bit / 32-bit integer or float greyscale
        arr = np.asarray(img).astype(np.float64)
        grey = np.clip(np.round(arr / _grey_peak(mode, arr, high_depth) * 255.0), 0, 255)
        img = Image.fromarray(grey.astype(np.uint8))
    if img.mode in ('RGBA', 'LA', 'PA', 'La', 'RGBa'):  # composite over white
        rgba = img.convert('RGBA')
        white = Image.new('RGBA', rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    rgb = np.asarray(img.convert('RGB'), dtype=np.uint8).copy()
    warnings.warn(f'{path}: converted a {mode} image to RGB uint8', stacklevel=3)
    return rgb


@TRANSFORMS.register_module()
class LoadPartImage(BaseTransform):
    """Image loading of the data contract (docs/design.md): ``img_path`` -> (H, W, 3) uint8 RGB.

    An in-memory ``img`` (the synthetic dataset) is checked and passed through. Greyscale, alpha
    (composited over white), palette, CMYK and 16-bit images are converted to RGB uint8 with a
    warning naming the file. Missing files raise ``FileNotFoundError``; unreadable, truncated or
    empty files, images smaller than ``min_size`` on either side, images of more than
    ``max_pixels`` pixels (refused from the file's header, before decoding) and, with
    ``check_landmarks``, visible ``gt_landmarks`` outside the image raise a one-line
    ``ValueError`` naming the file. Sets ``ori_shape`` and ``img_shape`` (H, W).

    Args:
        min_size: smallest accepted height and width in pixels.
        apply_exif_orientation: rotate photos as their EXIF orientation tag says.
        max_pixels: largest accepted width x height. The default is Pillow's decompression-bomb
            warning threshold (``PIL.Image.MAX_IMAGE_PIXELS``, about 9,459 x 9,459 px; Pillow
            itself refuses twice that whatever this says).
        check_landmarks: refuse a sample whose visible landmarks (``gt_landmarks`` where
            ``gt_landmarks_visible``) are not finite or lie outside [0, W] x [0, H] pixels.
    """

    def __init__(self,
                 min_size: int = 16,
                 apply_exif_orientation: bool = True,
                 max_pixels: int = DEFAULT_MAX_PIXELS,
                 check_landmarks: bool = True) -> None:
        for key, value in (('min_size', min_size), ('max_pixels', max_pixels)):
            check_int(value, key, 1)
        self.min_size = min_size
        self.apply_exif_orientation = apply_exif_orientation
        self.max_pixels = max_pixels
        self.check_landmarks = check_landmarks

    def _read(self, path: str) -> np.ndarray:
        if osp.isdir(path):
            raise ValueError(f'cannot read image {path}: it is a directory, not an image file')
        if not osp.isfile(path):
            raise FileNotFoundError(f'image file not found: {path}')
        try:
            with Image.open(path) as img:  # reads the header only
                w, h = img.size
                if w * h > self.max_pixels:
                    raise _TooLarge(f'image {path} is {w}x{h} pixels (W x H), more than '
                                    f'max_pixels={self.max_pixels}; downscale it or raise '
                                    'LoadPartImage(max_pixels=...)')
                high_depth = any(';16' in str(tile[3]) for tile in (img.tile or []))
                img.load()
                if self.apply_exif_orientation:
                    img = ImageOps.exif_transpose(img)
                return _to_rgb_uint8(img, path, high_depth)
        except _TooLarge as err:
            raise ValueError(str(err)) from None
        except UnidentifiedImageError:
            reason = 'empty file' if osp.getsize(path) == 0 else 'not a readable image'
            raise ValueError(f'cannot read image {path}: {reason}') from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error,
                Image.DecompressionBombError) as err:
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ValueError(f'cannot read image {path}: {message}') from None

    def transform(self, results: dict) -> dict:
        img: Optional[np.ndarray] = results.get('img')
        name = results.get('img_path', 'results["img"]')
        if img is None:
            if 'img_path' not in results:
                raise KeyError("LoadPartImage needs 'img_path' or 'img' in the results")
            img = self._read(str(results['img_path']))
        elif not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3
                  and img.shape[2] == 3):
            desc = f'{img.dtype} {img.shape}' if isinstance(img, np.ndarray) else type(img).__name__
            raise ValueError(f"'img' of {name} must be an (H, W, 3) uint8 RGB array, got {desc}")
        h, w = img.shape[:2]
        if min(h, w) < self.min_size:
            raise ValueError(f'image {name} is {w}x{h} pixels (W x H), smaller than '
                             f'min_size={self.min_size}')
        if self.check_landmarks and results.get('gt_landmarks') is not None:
            _check_landmarks_inside(results, name, w, h)
        results['img'] = img
        results['ori_shape'] = (h, w)
        results['img_shape'] = (h, w)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_size={self.min_size}, '
                f'apply_exif_orientation={self.apply_exif_orientation})')
