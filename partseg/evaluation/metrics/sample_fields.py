"""Reading the fields of a data sample dict (``PartDataSample.to_dict()``) with one-line errors."""
from typing import Any, Mapping, Tuple

import numpy as np
import torch
from torch import Tensor


def get_field(sample: Mapping, key: str, owner: str) -> Any:
    """``sample[key]``, or a ``KeyError`` naming the key and the metric that needs it."""
    if key not in sample:
        raise KeyError(f"{owner}: data sample has no '{key}' (keys: {sorted(sample)})")
    return sample[key]


def get_pixel_data(sample: Mapping, key: str, owner: str) -> Tensor:
    """The tensor of a ``PixelData`` field (``sample[key]['data']``, or a bare tensor)."""
    value = get_field(sample, key, owner)
    if isinstance(value, Mapping):
        if 'data' not in value:
            raise KeyError(f"{owner}: data sample field '{key}' has no 'data'")
        value = value['data']
    return torch.as_tensor(value).detach()


def get_image_size(sample: Mapping, key: str, owner: str) -> Tuple[int, int]:
    """(H, W) from a shape metainfo key such as ``img_shape`` or ``ori_shape``."""
    shape = get_field(sample, key, owner)
    if len(shape) < 2 or min(shape[:2]) <= 0:
        raise ValueError(f"{owner}: '{key}' must start with a positive (H, W), got {shape!r}")
    return int(shape[0]), int(shape[1])


def get_landmarks(sample: Mapping, owner: str) -> Tuple[np.ndarray, np.ndarray]:
    """``gt_landmarks`` (N, 2) float64 pixels and ``gt_landmarks_visible`` (N,) bool (all visible
    when absent); invisible coordinates are zeroed so that -1 / NaN placeholders never propagate.
    """
    landmarks = torch.as_tensor(get_field(sample, 'gt_landmarks', owner)).detach()
    landmarks = landmarks.cpu().to(torch.float64).numpy()
    if landmarks.ndim != 2 or landmarks.shape[1] != 2:
        raise ValueError(f"{owner}: 'gt_landmarks' must be (N, 2), got {landmarks.shape}")
    if 'gt_landmarks_visible' in sample:
        visible = torch.as_tensor(sample['gt_landmarks_visible']).detach().cpu().numpy()
        if visible.shape != landmarks.shape[:1]:
            raise ValueError(f"{owner}: 'gt_landmarks_visible' must be ({landmarks.shape[0]},), "
                             f'got {visible.shape}')
        visible = visible.astype(bool)
    else:
        visible = np.ones(landmarks.shape[0], dtype=bool)
    landmarks = np.where(visible[:, None], landmarks, 0.0)
    if not np.isfinite(landmarks).all():
        raise ValueError(f"{owner}: 'gt_landmarks' has non-finite visible coordinates")
    return landmarks, visible
