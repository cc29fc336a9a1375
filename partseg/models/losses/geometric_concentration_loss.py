"""Geometric concentration loss, He et al. 2022 Eq. (16) (weight schedule Eq. (26))."""
from typing import Optional

from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.precision import full_precision_forward


@MODELS.register_module()
class GeometricConcentrationLoss(nn.Module):
    """Geometric concentration loss, He et al. 2022 Eq. (16).

    ``L_con = Σ_k Σ_p M_k(p) / Σ_p' M_k(p') ‖p − x_k‖²`` over the K foreground masks (the
    background mask is not constrained), averaged over the batch. ``p`` are the mask-grid pixel
    coordinates and ``x_k`` the part locations, both in the generator's coordinate frame.

    Weight: ``loss_weight`` is λ_con (Table 4: CelebA 10, Taichi 30, CUB 10, Flowers 30), or give
    ``loss_weight_per_part`` = C_con for Eq. (26)'s ``λ_con = C_con · K`` (C_con: CelebA 1.25,
    Taichi 3, CUB 1.25, Flowers 3.75), K read from the masks.

    ``part_reduction='sum'`` is Eq. (16); ``'mean'`` averages over the K parts as the official code
    does, i.e. it equals ``'sum'`` divided by K (so official λ_con = 10 at K = 8 is ``'sum'`` with
    λ_con = 1.25).

    Args:
        loss_weight (float, optional): λ_con; 1.0 when neither weight is given.
        loss_weight_per_part (float, optional): C_con of Eq. (26); excludes ``loss_weight``.
        part_reduction (str): ``'sum'`` (paper) or ``'mean'`` (official) over parts.
        eps (float): added to each mask's mass before normalising (official: 1e-6).
    """

    def __init__(self,
                 loss_weight: Optional[float] = None,
                 loss_weight_per_part: Optional[float] = None,
                 part_reduction: str = 'sum',
                 eps: float = 1e-6) -> None:
        super().__init__()
        if loss_weight is not None and loss_weight_per_part is not None:
            raise ValueError('give either loss_weight (λ_con) or loss_weight_per_part (C_con of '
                             f'Eq. 26), not both: got {loss_weight!r} and {loss_weight_per_part!r}')
        if part_reduction not in ('sum', 'mean'):
            raise ValueError(f"part_reduction must be 'sum' or 'mean', got {part_reduction!r}")
        self.loss_weight = 1.0 if loss_weight is None and loss_weight_per_part is None \
            else loss_weight
        self.loss_weight_per_part = loss_weight_per_part
        self.part_reduction = part_reduction
        self.eps = eps

    def weight(self, num_parts: int) -> float:
        """λ_con for K parts: ``loss_weight``, or ``C_con · K`` (Eq. 26)."""
        if self.loss_weight_per_part is not None:
            return self.loss_weight_per_part * num_parts
        return self.loss_weight

    @full_precision_forward
    def forward(self, masks: Tensor, centers: Tensor, grid: Tensor) -> Tensor:
        """``masks`` (B, K, H, W) foreground masks, ``centers`` (B, K, 2), ``grid`` (H, W, 2)."""
        b, k, h, w = masks.shape
        if grid.shape != (h, w, 2):
            raise ValueError(f'grid must have shape ({h}, {w}, 2) to match the masks, '
                             f'got {tuple(grid.shape)}')
        flat = masks.reshape(b, k, h * w)  # (B, K, H, W) -> (B, K, HW)
        weights = flat / (flat.sum(-1, keepdim=True) + self.eps)
        diff = grid.reshape(1, 1, h * w, 2) - centers.unsqueeze(2)  # (B, K, HW, 2)
        sq_dist = diff.pow(2).sum(-1)  # (B, K, HW)
        per_part = (weights * sq_dist).sum(-1)  # (B, K)
        per_image = per_part.sum(1) if self.part_reduction == 'sum' else per_part.mean(1)
        return self.weight(k) * per_image.mean()
