"""Load a dataset's foreground annotation as a boolean mask, with the dataset's foreground rule."""
import os.path as osp

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image, UnidentifiedImageError

from partseg.registry import TRANSFORMS

RULES = ('threshold', 'flowers', 'label')


@TRANSFORMS.register_module()
class LoadFgMask(BaseTransform):
    """Read ``fg_mask_path`` into ``gt_fg_mask`` (H, W) bool by one of the datasets' rules.

    Rules (He et al. 2022 Sec. 4.1 and the official evaluation code):

    - ``'threshold'``: foreground where the grey value (first channel of a colour file) is
      greater than ``threshold`` -- CUB ``segmentations/`` (> 127.5), Taichi test masks.
    - ``'flowers'``: Oxford Flowers ``segmim`` colour maps, foreground = not (R == 0 or G == 0 or
      B == 254), exactly as written (no tolerance).
    - ``'label'``: foreground where the stored value equals ``results['fg_label']`` -- PASCAL VOC
      ``SegmentationObject`` (instance index) or ``SegmentationClass`` (class index) palette PNGs.

    The file is decoded with Pillow, like the official code (palette PNGs give their indices).
    By default the rule is applied at the annotation's own resolution and ``ResizeParts`` later
    resizes the mask by nearest neighbour. ``rule_after_resize=True`` reproduces the GANSeg code's
    order instead: the raw annotation is resized bilinearly to the current ``img_shape`` and the
    rule is applied afterwards (put this transform after ``ResizeParts``; whole-image pipelines
    only; not for the ``'label'`` rule).

    Args:
        rule: ``'threshold'``, ``'flowers'`` or ``'label'``.
        threshold: grey level of the ``'threshold'`` rule.
        rule_after_resize: apply the rule after a bilinear resize to ``img_shape``.
    """

    def __init__(self,
                 rule: str = 'threshold',
                 threshold: float = 127.5,
                 rule_after_resize: bool = False) -> None:
        if rule not in RULES:
            raise ValueError(f'rule must be one of {RULES}, got {rule!r}')
        if rule_after_resize and rule == 'label':
            raise ValueError("rule_after_resize does not apply to rule='label' (labels cannot be "
                             'interpolated)')
        self.rule = rule
        self.threshold = float(threshold)
        self.rule_after_resize = bool(rule_after_resize)

    @staticmethod
    def _open(path: str) -> Image.Image:
        if not osp.isfile(path):
            raise FileNotFoundError(f'foreground mask file not found: {path}')
        try:
            img = Image.open(path)
            img.load()
        except UnidentifiedImageError:
            raise ValueError(f'cannot read foreground mask {path}: not a readable image') from None
        except (OSError, SyntaxError, ValueError, EOFError) as err:
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ValueError(f'cannot read foreground mask {path}: {message}') from None
        return img

    def transform(self, results: dict) -> dict:
        if 'fg_mask_path' not in results:
            raise KeyError("LoadFgMask needs 'fg_mask_path' in the results")
        path = str(results['fg_mask_path'])
        img = self._open(path)
        if self.rule_after_resize:
            if 'img_shape' not in results:
                raise KeyError("LoadFgMask(rule_after_resize=True) needs 'img_shape' (put it "
                               'after ResizeParts)')
            h, w = results['img_shape'][:2]
            if img.mode not in ('L', 'RGB'):
                img = img.convert('RGB' if self.rule == 'flowers' else 'L')
            img = img.resize((int(w), int(h)), Image.BILINEAR)
        raw = np.asarray(img)  # (H, W) or (H, W, C)

        if self.rule == 'threshold':
            grey = raw if raw.ndim == 2 else raw[..., 0]
            mask = grey > self.threshold
        elif self.rule == 'flowers':
            if raw.ndim != 3 or raw.shape[2] < 3:
                raise ValueError(f'{path}: the flowers rule needs an RGB image, got shape '
                                 f'{raw.shape}')
            mask = ~((raw[..., 0] == 0) | (raw[..., 1] == 0) | (raw[..., 2] == 254))
        else:
            if 'fg_label' not in results:
                raise KeyError("LoadFgMask(rule='label') needs 'fg_label' in the results")
            if raw.ndim != 2:
                raise ValueError(f'{path}: the label rule needs a single-channel (palette or '
                                 f'grey) image, got shape {raw.shape}')
            mask = raw == results['fg_label']

        if 'img' in results and not self.rule_after_resize:
            img_hw = results['img'].shape[:2]
            if mask.shape != img_hw:
                raise ValueError(f'foreground mask {path} is {mask.shape[1]}x{mask.shape[0]} '
                                 f'(W x H) but its image is {img_hw[1]}x{img_hw[0]}')
        results['gt_fg_mask'] = np.ascontiguousarray(mask, dtype=bool)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(rule={self.rule!r}, threshold={self.threshold}, '
                f'rule_after_resize={self.rule_after_resize})')
