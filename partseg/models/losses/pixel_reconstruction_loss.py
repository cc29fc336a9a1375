"""Pixel-space reconstruction loss."""
from typing import Optional

from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.precision import full_precision_forward

_EPS = 1e-6


@MODELS.register_module()
class PixelReconstructionLoss(nn.Module):
    """Pixel reconstruction loss: the L1/L2 image distance in place of Liu et al. 2021 Eq. (5)'s P.

    For configs without a pretrained VGG (e.g. the synthetic CPU config):
    ``mean |pred - target|`` (``'l1'``) or ``mean (pred - target)^2`` (``'l2'``). With ``mask``
    (B, 1, H, W) in [0, 1] the per-pixel error is weighted by it and divided by
    ``C * sum(mask)``, so an all-ones mask equals no mask.

    Args:
        loss_weight: lambda_rec of Eq. (12).
        criterion: ``'l1'`` or ``'l2'``.
    """

    def __init__(self, loss_weight: float = 1.0, criterion: str = 'l1') -> None:
        super().__init__()
        if criterion not in ('l1', 'l2'):
            raise ValueError(f"PixelReconstructionLoss: criterion must be 'l1' or 'l2', "
                             f'got {criterion!r}')
        self.loss_weight = loss_weight
        self.criterion = criterion

    @full_precision_forward
    def forward(self, pred: Tensor, target: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """Distance between ``pred`` and ``target`` (B, C, H, W), optionally masked."""
        if pred.dim() != 4 or pred.shape != target.shape:
            raise ValueError(f'PixelReconstructionLoss: pred and target must both be '
                             f'(B, C, H, W), got {tuple(pred.shape)} and {tuple(target.shape)}')
        diff = pred - target
        error = diff.abs() if self.criterion == 'l1' else diff.pow(2)  # (B, C, H, W)
        if mask is None:
            return self.loss_weight * error.mean()
        b, c, h, w = pred.shape
        if tuple(mask.shape) != (b, 1, h, w):
            raise ValueError(f'PixelReconstructionLoss: mask must be {(b, 1, h, w)}, got '
                             f'{tuple(mask.shape)}')
        loss = (error * mask).sum() / (c * mask.sum()).clamp(min=_EPS)
        return self.loss_weight * loss
