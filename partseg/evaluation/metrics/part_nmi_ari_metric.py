"""NMI / ARI between keypoint ids and predicted parts, Choudhury et al. 2021 Sec. 4."""
import logging
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from partseg.evaluation.functional import (adjusted_rand_index, contingency_table,
                                           normalized_mutual_info)
from partseg.registry import METRICS
from .sample_fields import get_field, get_image_size, get_landmarks, get_pixel_data

FOREGROUND_PROTOCOLS = ('drop_background', 'argmax_foreground')
SPLITS = ('train', 'test')


def _pad_and_sum(tables: List[np.ndarray]) -> np.ndarray:
    """Sum (N, L_i) per-image tables whose label counts differ -> (N, max L_i)."""
    width = max(t.shape[1] for t in tables)
    return sum(np.pad(t, ((0, 0), (0, width - t.shape[1]))) for t in tables)


@METRICS.register_module()
class PartNMIARIMetric(BaseMetric):
    """Part consistency, Choudhury et al. 2021 Sec. 4: NMI and ARI of keypoint id vs. part label.

    At each visible GT landmark the predicted label is read from ``pred_sem_seg`` at the pixel
    that contains it (pixel (i, j) covers [j, j+1) x [i, i+1), so index = floor of the
    coordinate, clamped to the image; landmarks are mapped from the ``img_shape`` frame to the
    prediction's if they differ). ``process`` keeps one (N, L) contingency table per image
    (GT keypoint id x predicted label), the sufficient statistic; ``compute_metrics`` sums them
    and reports, in percent as Choudhury et al.:

    - ``nmi``, ``ari``: with background (label 0 is one more cluster);
    - ``nmi_fg``, ``ari_fg``: without background. ``foreground_protocol='drop_background'``
      (default) drops the keypoints whose predicted label is background;
      ``'argmax_foreground'`` (Choudhury et al.'s code for background-aware models) instead
      labels every keypoint with its best foreground part, the argmax of ``seg_logits[1:]``.
      Empty (every keypoint on background) gives NaN and a warning.

    NMI uses the arithmetic-mean normalisation (scikit-learn's default).

    ``split='test'`` (or ``'train'``) scores only the samples whose metainfo
    ``regression_split`` has that value, so a landmark test loader, which also holds the
    regression-fit images, gives NMI / ARI on the scored test images as Choudhury et al. report
    them. The other samples are not read; each still leaves a placeholder entry, so the results
    stay exact under DDP. ``None`` (default) scores every sample.
    """

    default_prefix: Optional[str] = 'parts'

    def __init__(self,
                 foreground_protocol: str = 'drop_background',
                 split: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        if foreground_protocol not in FOREGROUND_PROTOCOLS:
            raise ValueError(f'PartNMIARIMetric: foreground_protocol must be one of '
                             f'{FOREGROUND_PROTOCOLS}, got {foreground_protocol!r}')
        if split is not None and split not in SPLITS:
            raise ValueError(f'PartNMIARIMetric: split must be None or one of {SPLITS}, '
                             f'got {split!r}')
        self.foreground_protocol = foreground_protocol
        self.split = split

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Reduce each sample to its (N, L) contingency table of (keypoint id, predicted label)."""
        name = type(self).__name__
        for sample in data_samples:
            if not self._selected(sample):
                self.results.append(dict(skipped=True))  # one entry per sample (DDP padding)
                continue
            pred = get_pixel_data(sample, 'pred_sem_seg', name)
            if pred.dim() != 3 or pred.shape[0] != 1:
                raise ValueError(f"{name}: 'pred_sem_seg' must be (1, H, W), "
                                 f'got {tuple(pred.shape)}')
            hp, wp = pred.shape[-2:]
            h, w = get_image_size(sample, 'img_shape', name) if 'img_shape' in sample else (hp, wp)
            landmarks, visible = get_landmarks(sample, name)
            points = landmarks[visible] * np.array([wp / w, hp / h])  # (V, 2) prediction pixels
            cols = torch.as_tensor(np.clip(np.floor(points[:, 0]), 0, wp - 1), dtype=torch.long)
            rows = torch.as_tensor(np.clip(np.floor(points[:, 1]), 0, hp - 1), dtype=torch.long)
            labels = pred[0].cpu()[rows, cols].numpy()  # (V,)
            if labels.size and labels.min() < 0:
                raise ValueError(f"{name}: 'pred_sem_seg' has negative labels")
            ids = np.flatnonzero(visible)  # (V,) keypoint ids
            num_labels = int(labels.max()) + 1 if labels.size else 1
            result = dict(table=contingency_table(ids, labels, len(visible), num_labels))
            if self.foreground_protocol == 'argmax_foreground':
                logits = get_pixel_data(sample, 'seg_logits', name)
                if logits.dim() != 3 or logits.shape[0] < 2 or logits.shape[-2:] != pred.shape[-2:]:
                    raise ValueError(f"{name}: 'seg_logits' must be (K+1, {hp}, {wp}) like "
                                     f"'pred_sem_seg', got {tuple(logits.shape)}")
                fg_labels = logits.cpu()[1:, rows, cols].argmax(0).numpy() + 1  # (K, V) -> (V,)
                result['fg_table'] = contingency_table(ids, fg_labels, len(visible),
                                                       logits.shape[0])
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
        name = type(self).__name__
        results = [r for r in results if not r.get('skipped', False)]
        if not results:
            where = '' if self.split is None else f" with regression_split '{self.split}'"
            raise ValueError(f'{name}: no samples{where} were processed')
        if len({r['table'].shape[0] for r in results}) > 1:
            raise ValueError(f'{name}: every sample must have the same number of landmarks')
        table = _pad_and_sum([r['table'] for r in results])  # (N, L)
        if table.sum() == 0:
            raise ValueError(f'{name}: no test sample has a visible landmark')
        metrics = dict(
            nmi=normalized_mutual_info(table) * 100, ari=adjusted_rand_index(table) * 100)
        if self.foreground_protocol == 'argmax_foreground':
            fg_table = _pad_and_sum([r['fg_table'] for r in results])
        else:
            fg_table = table[:, 1:]  # drop the keypoints predicted as background
        if fg_table.sum() == 0:
            print_log(
                f'{name}: every visible keypoint falls on predicted background; '
                'nmi_fg and ari_fg are NaN',
                logger='current',
                level=logging.WARNING)
            metrics.update(nmi_fg=float('nan'), ari_fg=float('nan'))
        else:
            metrics.update(
                nmi_fg=normalized_mutual_info(fg_table) * 100,
                ari_fg=adjusted_rand_index(fg_table) * 100)
        return metrics
