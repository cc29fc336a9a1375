"""Soft Dice loss of GANSeg's stage-2 segmenter (official code; the paper only names DeepLab V3)."""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.precision import full_precision_forward


@MODELS.register_module()
class SoftDiceLoss(nn.Module):
    """Soft Dice loss over softmax probabilities, per image and class (GANSeg official code).

    ``L = mean_{b,c} [1 − (2 Σ_p P_bc(p) T_bc(p) + ε) / (Σ_p P_bc(p) + Σ_p T_bc(p) + ε)]`` with
    ``P = softmax(logits)`` and ``T`` the one-hot labels; pixels labelled ``ignore_index`` are left
    out. GANSeg trains its segmenter with ``0.5 CE + 0.5 Dice``. mmseg's ``DiceLoss`` differs: it
    pools all classes of an image into one Dice (and squares the denominator by default).

    Works as an mmseg decode-head loss (``loss_decode``): in an mmseg-scoped model config write
    ``dict(type='partseg.SoftDiceLoss', loss_weight=0.5)``.

    Args:
        loss_weight (float): multiplies the loss.
        eps (float): smoothing ε (official: 1e-8).
        loss_name (str): the key the decode head logs the loss under.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 eps: float = 1e-8,
                 loss_name: str = 'loss_dice') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.eps = eps
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    @full_precision_forward
    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                ignore_index: int = 255) -> Tensor:
        """``pred`` (B, C, H, W) logits, ``target`` (B, H, W) labels, ``weight`` (B, H, W)."""
        num_classes = pred.shape[1]
        valid = (target != ignore_index).to(pred.dtype)  # (B, H, W)
        if weight is not None:
            valid = valid * weight.to(pred.dtype)
        probs = pred.softmax(1) * valid.unsqueeze(1)
        labels = target.masked_fill(target == ignore_index, 0)
        one_hot = F.one_hot(labels, num_classes).permute(0, 3, 1, 2).to(pred.dtype)  # (B, C, H, W)
        one_hot = one_hot * valid.unsqueeze(1)
        intersection = (probs * one_hot).sum((2, 3))  # (B, C)
        union = probs.sum((2, 3)) + one_hot.sum((2, 3))
        dice = (2 * intersection + self.eps) / (union + self.eps)
        return self.loss_weight * (1 - dice).mean()
