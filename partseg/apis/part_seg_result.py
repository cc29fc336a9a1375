"""What inference returns for one image: part maps, labels, centroids and foreground."""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from partseg.utils.part_geometry import part_centroids

__all__ = ['PartSegResult']


@dataclass
class PartSegResult:
    """Parts of one image, at the image's original size (H, W).

    Attributes:
        part_probs: (K+1, H, W) float32, softmax of the part logits; channel 0 is the background.
        labels: (H, W) int64, the argmax of ``part_probs`` (0 = background, k = part k).
        centroids: (K, 2) float64 (x, y) pixel positions of the parts' centres, Liu et al. 2021
            Eq. (8) on ``part_probs[1:]`` (pixel (i, j) has centre (j + .5, i + .5)); NaN for a
            part that no pixel of ``labels`` belongs to.
        fg_mask: (H, W) bool, ``labels != 0``.
        img_path: the image file, or None for an in-memory array.
    """

    part_probs: np.ndarray
    labels: np.ndarray
    centroids: np.ndarray
    fg_mask: np.ndarray
    img_path: Optional[str] = None

    @property
    def num_parts(self) -> int:
        """K, the number of foreground parts."""
        return self.part_probs.shape[0] - 1

    @classmethod
    def from_probs(cls, probs: torch.Tensor, img_path: Optional[str] = None) -> 'PartSegResult':
        """Build from (K+1, H, W) part probabilities at the original image size."""
        num_channels, h, w = probs.shape
        labels = probs.argmax(0)  # (K+1, H, W) -> (H, W)
        present = torch.zeros(num_channels, dtype=torch.bool, device=probs.device)
        present[labels.unique()] = True
        scale = torch.tensor([w, h], dtype=torch.float64, device=probs.device)
        centres = part_centroids(probs[None, 1:].double())[0] * scale  # (K, 2) pixels
        centres[~present[1:]] = float('nan')
        return cls(
            part_probs=probs.float().cpu().numpy(),
            labels=labels.cpu().numpy().astype(np.int64),
            centroids=centres.cpu().numpy(),
            fg_mask=(labels != 0).cpu().numpy(),
            img_path=img_path)
