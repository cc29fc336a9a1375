"""Foreground-mask IoU and the fixed-shape baseline masks it is compared with."""
from typing import Optional, Sequence

import torch
from torch import Tensor

from partseg.utils.part_geometry import coordinate_grid


def mask_iou(pred: Tensor, gt: Tensor, smooth: Optional[float] = None) -> Tensor:
    """Foreground IoU, He et al. 2022 Sec. 4.1: ``|pred & gt| / |pred | gt|`` over the last 2 dims.

    ``pred``, ``gt``: (..., H, W) bool -> (...) float64. ``smooth=None`` (default): an empty union
    (both masks empty) counts as a perfect match, IoU 1.0. ``smooth=s``: ``|pred & gt| /
    (|pred | gt| + s)`` for every image, the official ``test_seg.py`` with ``s = 1e-6`` (an empty
    union scores 0).
    """
    if pred.shape != gt.shape:
        raise ValueError(f'pred and gt masks differ in shape: {tuple(pred.shape)} vs '
                         f'{tuple(gt.shape)}')
    inter = (pred & gt).sum((-2, -1)).to(torch.float64)
    union = (pred | gt).sum((-2, -1)).to(torch.float64)
    if smooth is not None:
        return inter / (union + smooth)
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def centred_ellipse_mask(height: int,
                         width: int,
                         axes: Sequence[float] = (0.35, 0.35),
                         device=None) -> Tensor:
    """A centred ellipse with semi-axes ``axes`` as fractions of (W, H), (H, W) bool.

    Pixel (i, j) is inside when its centre ((j + .5), (i + .5)) satisfies
    ``((x - W/2) / (a_x W))^2 + ((y - H/2) / (a_y H))^2 <= 1``.
    """
    grid = coordinate_grid(height, width, device=device, dtype=torch.float64)  # (H, W, 2) in (0, 1)
    radii = torch.tensor(axes, dtype=torch.float64, device=device)
    return (((grid - 0.5) / radii)**2).sum(-1) <= 1.0  # (H, W, 2) -> (H, W)
