"""Foreground IoU of the predicted part segmentation, He et al. 2022 Sec. 4.1 (CUB, Flowers)."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from partseg.evaluation.functional import centred_ellipse_mask, mask_iou
from partseg.registry import METRICS
from .sample_fields import get_field, get_pixel_data

SPLITS = ('train', 'test')


@METRICS.register_module()
class ForegroundIoUMetric(BaseMetric):
    """Foreground IoU, He et al. 2022 Sec. 4.1: fg = argmax != background, mean per-image IoU.

    The predicted foreground is ``pred_sem_seg != 0``; each image's IoU with the bool
    ``gt_fg_mask`` is averaged over images (``fg_iou``, a fraction). An image whose predicted and
    GT foregrounds are both empty has an empty union and scores 1.0 (a perfect match); with
    ``smooth=1e-6`` every image scores ``|pred & gt| / (|pred | gt| + 1e-6)`` as the official
    GANSeg ``test_seg.py`` (an empty union scores 0; the GANSeg configs' choice). A
    prediction at another resolution than the GT mask (mmseg's ``EncoderDecoder`` resizes to
    ``ori_shape``) is resized to the mask by nearest neighbour at pixel centres.

    With ``report_baselines=True`` two fixed predictions are scored the same way:
    ``fg_iou_all_foreground_baseline`` (every pixel foreground) and
    ``fg_iou_centred_ellipse_baseline`` (a centred ellipse with semi-axes ``ellipse_axes`` as
    fractions of (W, H)). ``process`` keeps three floats per image.

    ``split='test'`` (or ``'train'``) scores only the samples whose metainfo
    ``regression_split`` has that value: a landmark test loader that also holds the
    regression-fit images (which may have no mask) then gives the IoU of the scored images only,
    as the Taichi protocol (He et al. 2022 Table 3: IoU on the 300 test images). The other
    samples are not read; each still leaves a placeholder entry, so the per-sample results stay
    exact under DDP. ``None`` (default) scores every sample.
    """

    default_prefix: Optional[str] = 'parts'

    def __init__(self,
                 ellipse_axes: Tuple[float, float] = (0.35, 0.35),
                 report_baselines: bool = True,
                 split: Optional[str] = None,
                 smooth: Optional[float] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        axes = tuple(float(a) for a in ellipse_axes)
        if len(axes) != 2 or min(axes) <= 0:
            raise ValueError(f'ForegroundIoUMetric: ellipse_axes must be 2 positive fractions '
                             f'of (W, H), got {ellipse_axes!r}')
        if split is not None and split not in SPLITS:
            raise ValueError(f'ForegroundIoUMetric: split must be None or one of {SPLITS}, '
                             f'got {split!r}')
        if smooth is not None and not smooth >= 0:
            raise ValueError(f'ForegroundIoUMetric: smooth must be None or >= 0, got {smooth!r}')
        self.smooth = smooth
        self.ellipse_axes = axes
        self.report_baselines = report_baselines
        self.split = split

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Reduce each sample to its IoU (and the baselines' IoUs)."""
        name = type(self).__name__
        for sample in data_samples:
            if not self._selected(sample):
                self.results.append(dict(skipped=True))  # one entry per sample (DDP padding)
                continue
            gt = get_pixel_data(sample, 'gt_fg_mask', name)
            if gt.dtype != torch.bool:
                raise TypeError(f"{name}: 'gt_fg_mask' must be a bool mask, got {gt.dtype} "
                                '(threshold it in the dataset)')
            pred = get_pixel_data(sample, 'pred_sem_seg', name)
            if gt.dim() != 3 or pred.dim() != 3 or gt.shape[0] != 1 or pred.shape[0] != 1:
                raise ValueError(f"{name}: 'pred_sem_seg' and 'gt_fg_mask' must be (1, H, W), "
                                 f'got {tuple(pred.shape)} and {tuple(gt.shape)}')
            gt = gt.to(pred.device)[0]  # (1, H, W) -> (H, W)
            if pred.shape[-2:] != gt.shape:
                # nearest at pixel centres, as ResizeParts: (1, h, w) -> (1, H, W)
                pred = F.interpolate(pred[None].float(), size=gt.shape, mode='nearest-exact')[0]
            result = dict(iou=mask_iou(pred[0] != 0, gt, self.smooth).item())
            if self.report_baselines:
                h, w = gt.shape
                ellipse = centred_ellipse_mask(h, w, self.ellipse_axes, device=gt.device)
                result['all_foreground_iou'] = mask_iou(torch.ones_like(gt), gt, self.smooth).item()
                result['centred_ellipse_iou'] = mask_iou(ellipse, gt, self.smooth).item()
            self.results.append(result)

    def _selected(self, sample: dict) -> bool:
        """Whether ``sample`` is scored: always without ``split``, else by its tag."""
        if self.split is None:
            return True
        name = type(self).__name__
        tag = get_field(sample, 'regression_split', name)
        if tag not in SPLITS:
            raise ValueError(f"{name}: 'regression_split' must be 'train' or 'test', got {tag!r}")
        return tag == self.split

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        results = [r for r in results if not r.get('skipped', False)]
        if not results:
            where = '' if self.split is None else f" with regression_split '{self.split}'"
            raise ValueError(f'{type(self).__name__}: no samples{where} were processed')
        metrics = dict(fg_iou=float(np.mean([r['iou'] for r in results])))
        if self.report_baselines:
            metrics['fg_iou_all_foreground_baseline'] = float(
                np.mean([r['all_foreground_iou'] for r in results]))
            metrics['fg_iou_centred_ellipse_baseline'] = float(
                np.mean([r['centred_ellipse_iou'] for r in results]))
        return metrics
