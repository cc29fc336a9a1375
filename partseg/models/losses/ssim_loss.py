"""Structural-similarity reconstruction loss on kornia's SSIM."""
from typing import Optional

from kornia.metrics import ssim as kornia_ssim
from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.checks import check_int
from partseg.utils.precision import full_precision_forward

_EPS = 1e-6


@MODELS.register_module()
class SSIMLoss(nn.Module):
    """Structural dissimilarity ``1 - SSIM``, Wang et al. 2004 Eq. (13), a reconstruction term.

    ``SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 +
    C2))`` with local statistics under a normalised Gaussian window of standard deviation 1.5
    pixels, C1 = 0.01^2, C2 = 0.03^2 for images in [0, 1], averaged over channels and the window
    positions that fit inside the image (Wang et al.'s 'valid' filtering). The SSIM map is
    ``kornia.metrics.ssim(..., padding='valid')`` with its denominator's extra eps set to 0. An
    alternative to the perceptual or pixel reconstruction terms; no shipped config uses it.

    Args:
        loss_weight: lambda_rec of Liu et al. 2021 Eq. (12).
        window_size: odd side of the Gaussian window (Wang et al.: 11).

    ``mask`` (B, 1, H, W) in [0, 1] weights each SSIM value by the mask at its window centre.
    """

    def __init__(self, loss_weight: float = 1.0, window_size: int = 11) -> None:
        super().__init__()
        check_int(window_size, 'window_size', 1, owner='SSIMLoss', hint='odd')
        if window_size % 2 == 0:
            raise ValueError(f'SSIMLoss: window_size must be odd, got {window_size}')
        self.loss_weight = loss_weight
        self.window_size = int(window_size)

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
        # (B, C, H, W) -> (B, C, H', W') with H' = H - window_size + 1
        # eps=0: Wang et al.'s formula exactly (C1 C2 > 0 keeps the denominator positive)
        ssim = kornia_ssim(pred, target, self.window_size, eps=0.0, padding='valid')
        if mask is None:
            return self.loss_weight * (1.0 - ssim.mean())
        r = self.window_size // 2
        centre_mask = mask[:, :, r:h - r, r:w - r]  # (B, 1, H, W) -> (B, 1, H', W')
        mean_ssim = (ssim * centre_mask).sum() / (c * centre_mask.sum()).clamp(min=_EPS)
        return self.loss_weight * (1.0 - mean_ssim)
