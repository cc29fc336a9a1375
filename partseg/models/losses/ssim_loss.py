"""Structural-similarity reconstruction loss."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.precision import full_precision_forward

_C1 = 0.01**2  # (K1 L)^2 with L = 1
_C2 = 0.03**2  # (K2 L)^2
_EPS = 1e-6


@MODELS.register_module()
class SSIMLoss(nn.Module):
    """Structural dissimilarity ``1 - SSIM``, Wang et al. 2004 Eq. (13), a reconstruction term.

    ``SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 +
    C2))`` with local statistics under a normalised Gaussian window, C1 = 0.01^2, C2 = 0.03^2 for
    images in [0, 1], averaged over channels and the window positions that fit inside the image
    (Wang et al.'s 'valid' filtering). A stand-in for Liu et al. 2021 Eq. (5)'s perceptual P in
    configs without a pretrained VGG (the synthetic CPU config).

    Args:
        loss_weight: lambda_rec of Eq. (12).
        window_size: odd side of the Gaussian window (Wang et al.: 11).
        sigma: standard deviation of the window in pixels (Wang et al.: 1.5).

    ``mask`` (B, 1, H, W) in [0, 1] weights each SSIM value by the mask at its window centre.
    """

    def __init__(self, loss_weight: float = 1.0, window_size: int = 11, sigma: float = 1.5) -> None:
        super().__init__()
        if int(window_size) != window_size or window_size < 1 or window_size % 2 == 0:
            raise ValueError(f'SSIMLoss: window_size must be an odd positive integer, '
                             f'got {window_size!r}')
        if not sigma > 0:
            raise ValueError(f'SSIMLoss: sigma must be positive, got {sigma!r}')
        self.loss_weight = loss_weight
        self.window_size = int(window_size)
        self.sigma = float(sigma)
        offsets = torch.arange(self.window_size, dtype=torch.float32) - self.window_size // 2
        window = torch.exp(-offsets.pow(2) / (2 * self.sigma**2))
        self.register_buffer('window', window / window.sum(), persistent=False)

    def _filter(self, x: Tensor) -> Tensor:
        """Separable 'valid' Gaussian filtering of every channel of ``x`` (B, C, H, W)."""
        c = x.shape[1]
        window = self.window.to(x.dtype)
        window = window / window.sum()  # exactly normalised in x's precision
        x = F.conv2d(x, window.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
        return F.conv2d(x, window.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)

    @full_precision_forward
    def forward(self, pred: Tensor, target: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """``1 - SSIM(pred, target)`` for (B, C, H, W) images in [0, 1]."""
        if pred.dim() != 4 or pred.shape != target.shape:
            raise ValueError(f'SSIMLoss: pred and target must both be (B, C, H, W), got '
                             f'{tuple(pred.shape)} and {tuple(target.shape)}')
        b, c, h, w = pred.shape
        if min(h, w) < self.window_size:
            raise ValueError(f'SSIMLoss: images of {h}x{w} are smaller than the '
                             f'{self.window_size}x{self.window_size} window')
        if mask is not None and tuple(mask.shape) != (b, 1, h, w):
            raise ValueError(f'SSIMLoss: mask must be {(b, 1, h, w)}, got {tuple(mask.shape)}')
        # (B, 5C, H, W) -> (B, 5C, H', W') with H' = H - window_size + 1
        stats = self._filter(
            torch.cat([pred, target, pred * pred, target * target, pred * target], dim=1))
        mu_x, mu_y, e_xx, e_yy, e_xy = stats.split(c, dim=1)  # each (B, C, H', W')
        var_x = e_xx - mu_x.pow(2)
        var_y = e_yy - mu_y.pow(2)
        cov_xy = e_xy - mu_x * mu_y
        ssim = ((2 * mu_x * mu_y + _C1) * (2 * cov_xy + _C2)) / ((mu_x.pow(2) + mu_y.pow(2) + _C1) *
                                                                 (var_x + var_y + _C2))
        if mask is None:
            return self.loss_weight * (1.0 - ssim.mean())
        r = self.window_size // 2
        centre_mask = mask[:, :, r:h - r, r:w - r]  # (B, 1, H, W) -> (B, 1, H', W')
        mean_ssim = (ssim * centre_mask).sum() / (c * centre_mask.sum()).clamp(min=_EPS)
        return self.loss_weight * (1.0 - mean_ssim)
