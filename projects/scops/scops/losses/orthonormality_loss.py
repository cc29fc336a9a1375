"""Orthonormality constraint on the SCOPS part bases, Hung et al. 2019 Eq. (6)."""
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from partseg.registry import MODELS


@MODELS.register_module()
class OrthonormalityLoss(nn.Module):
    """Orthonormality loss on the part bases, Hung et al. 2019 (SCOPS) Eq. (6): ‖W Wᵀ − I‖²_F.

    ``W`` (K, D) stacks the part basis vectors w_k of the semantic consistency loss. With
    ``normalize_rows=True`` (the official code) every row is first scaled to unit L2 norm, so the
    loss only penalises non-orthogonal pairs (twice each, the Frobenius norm counts both
    ``(i, j)`` and ``(j, i)``); with ``False`` it is the literal formula, which also pulls every
    norm to one.

    Args:
        loss_weight: λ_on.
        normalize_rows: L2-normalise the basis vectors first.
    """

    def __init__(self, loss_weight: float = 1.0, normalize_rows: bool = True) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.normalize_rows = normalize_rows

    def forward(self, basis: Tensor) -> Tensor:
        """``basis`` W (K, D) -> scalar."""
        if basis.dim() != 2:
            raise ValueError(f'OrthonormalityLoss: basis must be (K, D), got {tuple(basis.shape)}')
        if self.normalize_rows:
            basis = F.normalize(basis, dim=1, eps=1e-6)
        gram = basis @ basis.t()  # (K, D) @ (D, K) -> (K, K)
        eye = torch.eye(basis.shape[0], device=basis.device, dtype=basis.dtype)
        return self.loss_weight * (gram - eye).pow(2).sum()
