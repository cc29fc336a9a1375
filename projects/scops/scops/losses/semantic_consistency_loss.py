"""Semantic consistency loss of SCOPS, Hung et al. 2019 Eq. (4)-(5)."""
from torch import Tensor, nn

from partseg.registry import MODELS


@MODELS.register_module()
class SemanticConsistencyLoss(nn.Module):
    """Semantic consistency loss, Hung et al. 2019 (SCOPS) Eq. (4)-(5): features from part bases.

    Every pixel's feature vector is approximated by the part-weighted sum of K learned part basis
    vectors, ``V(u, v) ≈ Σ_k R(k, u, v) w_k`` (Eq. 4), and
    ``L_sc = Σ_uv ‖V(u, v) − Σ_k R(k, u, v) w_k‖²`` (Eq. 5) over the foreground channels 1..K
    (background pixels are reconstructed by nothing, as in the official code). The squared error
    is averaged over the batch, the pixels and the D feature channels (the official code's MSE);
    the paper's sum over pixels only rescales λ_sc by h·w·D.

    Args:
        loss_weight: λ_sc.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, features: Tensor, part_maps: Tensor, basis: Tensor) -> Tensor:
        """``features`` V (B, D, h, w), ``part_maps`` R (B, K+1, h, w), ``basis`` W (K, D)."""
        if features.dim() != 4 or part_maps.dim() != 4 or basis.dim() != 2:
            raise ValueError(f'SemanticConsistencyLoss: expected features (B, D, h, w), part_maps '
                             f'(B, K+1, h, w) and basis (K, D), got {tuple(features.shape)}, '
                             f'{tuple(part_maps.shape)} and {tuple(basis.shape)}')
        b, d, h, w = features.shape
        k = part_maps.shape[1] - 1
        if part_maps.shape[0] != b or tuple(part_maps.shape[2:]) != (h, w) or \
                tuple(basis.shape) != (k, d):
            raise ValueError(f'SemanticConsistencyLoss: shapes do not agree: features '
                             f'{tuple(features.shape)}, part_maps {tuple(part_maps.shape)} (K = '
                             f'{k}), basis {tuple(basis.shape)} (expected {(k, d)})')
        parts = part_maps[:, 1:].flatten(2).transpose(1, 2)  # (B, K+1, h, w) -> (B, hw, K)
        recon = parts @ basis  # (B, hw, K) @ (K, D) -> (B, hw, D)
        target = features.flatten(2).transpose(1, 2)  # (B, D, h, w) -> (B, hw, D)
        return self.loss_weight * (target - recon).pow(2).mean()
