"""Gradient penalty on real data, He et al. 2022 Eq. (15) (R1, Mescheder et al. 2018)."""
import torch
from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.precision import full_precision_forward


@MODELS.register_module()
class GradientPenaltyLoss(nn.Module):
    """Gradient penalty on real images, He et al. 2022 Eq. (15): ``λ_gp E_x (‖∇_x D(x)‖ − c)²``.

    ``center=0`` is the paper's zero-centred R1 penalty ``λ_gp ‖∇D(x)‖²`` (the default);
    ``center=1`` is what the official code does, ``λ_gp (‖∇D(x)‖ − 1)²`` (WGAN-GP's form, but on
    real data). The gradient norm is taken over all pixels and channels of each image and the
    penalty is averaged over the batch. ``forward`` builds a differentiable graph
    (``create_graph=True``) so the penalty itself can be back-propagated into D.

    Args:
        loss_weight (float): λ_gp (10 in the paper and the official code).
        center (float): the target gradient norm c (0 = R1, 1 = official).
    """

    def __init__(self, loss_weight: float = 10.0, center: float = 0.0) -> None:
        super().__init__()
        if center < 0:
            raise ValueError(f'center must be >= 0, got {center!r}')
        self.loss_weight = loss_weight
        self.center = center

    @full_precision_forward
    def forward(self, real_images: Tensor, real_logits: Tensor) -> Tensor:
        """``real_images`` (B, C, H, W) with ``requires_grad``; ``real_logits`` = D(real_images)."""
        if not real_images.requires_grad:
            raise ValueError('real_images must require grad (call requires_grad_() before D)')
        grads, = torch.autograd.grad(
            outputs=real_logits.sum(), inputs=real_images, create_graph=True)
        grads = grads.flatten(1)  # (B, C, H, W) -> (B, CHW)
        if self.center == 0:
            penalty = grads.pow(2).sum(1)  # squared norm: no sqrt, smooth at 0
        else:
            penalty = (grads.norm(2, dim=1) - self.center).pow(2)
        return self.loss_weight * penalty.mean()
