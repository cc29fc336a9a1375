"""Equivariance loss of SCOPS, Hung et al. 2019 Eq. (2)-(3)."""
from typing import Optional

from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.part_geometry import part_centroids

_EPS = 1e-8


@MODELS.register_module()
class SCOPSEquivarianceLoss(nn.Module):
    """Equivariance loss, Hung et al. 2019 (SCOPS) Eq. (2)-(3): segment(T(x)) ≈ T(segment(x)).

    Given the part maps ``R'`` of a warped image ``T_s(x)`` and the warped part maps ``T_s(R)`` of
    the original image (both (B, K+1, h, w), on the same pixel grid):

    ``L_eqv = λ_map · KL(T_s(R) ‖ R') + λ_c · Σ_k ‖c'_k − c^T_k‖²``

    - the map term is the per-pixel KL divergence ``Σ_c t_c (log t_c − log R'_c)`` over the K+1
      channels, ``t`` = ``T_s(R)`` renormalised to sum to one per pixel and **detached** (a fixed
      target, as in the official code), averaged over the valid pixels of the batch;
    - the centroid term compares the part centres (channels 1..K, coordinates in [-1, 1]) of
      ``R'`` and of ``T_s(R)``, i.e. the warped centres ``T_s(c_k)`` of Eq. (3) measured on the
      warped maps; gradients flow into both (official code); summed over parts, averaged over the
      batch.

    ``valid`` (B, 1, h, w) in [0, 1] marks the pixels the warp took from inside the source image;
    both maps are restricted to it (``t · valid`` and ``R' · valid``) so neither side sees the
    padding. The official code averages the KL over all elements (channels too) and the centroid
    MSE over parts and axes; here the KL is summed over channels and the centroid distance over
    parts and axes, which only rescales λ_map by K+1 and λ_c by 2K.

    Args:
        map_weight: λ_map, the weight of the KL term (official ``lambda_eqv``).
        centroid_weight: λ_c, the weight of the centroid term (official ``lambda_lmeqv``).
    """

    def __init__(self, map_weight: float = 1.0, centroid_weight: float = 1.0) -> None:
        super().__init__()
        self.map_weight = map_weight
        self.centroid_weight = centroid_weight

    def forward(self,
                pred_maps: Tensor,
                warped_maps: Tensor,
                valid: Optional[Tensor] = None) -> Tensor:
        """``pred_maps`` R' and ``warped_maps`` T_s(R), (B, K+1, h, w); ``valid`` (B, 1, h, w)."""
        if pred_maps.dim() != 4 or pred_maps.shape[1] < 2 or pred_maps.shape != warped_maps.shape:
            raise ValueError(f'SCOPSEquivarianceLoss: pred_maps and warped_maps must both be '
                             f'(B, K+1, h, w) with K >= 1, got {tuple(pred_maps.shape)} and '
                             f'{tuple(warped_maps.shape)}')
        b, _, h, w = pred_maps.shape
        if valid is None:
            valid = pred_maps.new_ones(b, 1, h, w)
        elif tuple(valid.shape) != (b, 1, h, w):
            raise ValueError(f'SCOPSEquivarianceLoss: valid must be {(b, 1, h, w)}, got '
                             f'{tuple(valid.shape)}')
        # T_s(R) sums to the valid fraction at each pixel: renormalise to a distribution.
        target = warped_maps / warped_maps.sum(1, keepdim=True).clamp(min=_EPS)  # (B, K+1, h, w)
        fixed = target.detach()
        kl = (fixed * (fixed.clamp(min=_EPS).log() - pred_maps.clamp(min=_EPS).log())).sum(1)
        map_term = (kl * valid[:, 0]).sum() / valid.sum().clamp(min=_EPS)

        # Part centres of both maps on the valid region, in [-1, 1]: (B, K, 2) each.
        pred_centres = 2 * part_centroids(pred_maps[:, 1:] * valid, eps=_EPS) - 1
        warped_centres = 2 * part_centroids(target[:, 1:] * valid, eps=_EPS) - 1
        centroid_term = (pred_centres - warped_centres).pow(2).sum((1, 2)).mean()
        return self.map_weight * map_term + self.centroid_weight * centroid_term
