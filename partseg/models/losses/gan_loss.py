"""Adversarial losses of GANSeg, He et al. 2022 Eq. (13)-(14)."""
import torch.nn.functional as F
from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.precision import full_precision_forward


@MODELS.register_module()
class GANLoss(nn.Module):
    """Non-saturating / logistic GAN loss, He et al. 2022 Eq. (13)-(14) (Goodfellow et al. 2014).

    ``forward(logits, target_is_real)`` returns ``mean(softplus(-D))`` when the logits should be
    judged real and ``mean(softplus(D))`` when they should be judged fake, so

    - generator, Eq. (13): ``L_GAN(G) = loss(D(G(z)), True) = E log(exp(-D(G(z))) + 1)``;
    - discriminator, Eq. (14): ``L_GAN(D) = loss(D(G(z)), False) + loss(D(x), True)``.

    Args:
        loss_weight (float): multiplies the loss.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    @full_precision_forward
    def forward(self, logits: Tensor, target_is_real: bool) -> Tensor:
        # logits: (B, 1) raw discriminator outputs -> scalar
        signed = -logits if target_is_real else logits
        return self.loss_weight * F.softplus(signed).mean()
