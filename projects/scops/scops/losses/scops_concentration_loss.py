"""Geometric concentration loss of SCOPS, Hung et al. 2019 Eq. (1)."""
from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.part_geometry import coordinate_grid, part_centroids

_EPS = 1e-8


@MODELS.register_module()
class SCOPSConcentrationLoss(nn.Module):
    """Geometric concentration loss, Hung et al. 2019 (SCOPS) Eq. (1): parts' spatial variance.

    ``L_con = Σ_k Σ_uv ‖(u, v) − c_k‖² R(k, u, v) / z_k`` with ``z_k = Σ_uv R(k, u, v)`` and the
    part centre ``c_k = Σ_uv (u, v) R(k, u, v) / z_k``, over the K foreground channels 1..K of the
    part maps (the background channel 0 is not constrained), averaged over the batch. Coordinates
    are pixel centres in [-1, 1] on both axes (the SCOPS frame; partseg's own maps use [0, 1]).

    The official code adds 1e-3 to every pixel of a part map before normalising it and divides the
    batch sum by B twice; here ``z_k`` is only clamped away from zero and the batch is averaged
    once.

    This is the same formula as partseg's ``ForegroundConcentrationLoss(normalizer='sum',
    coordinate_range=(-1, 1), part_reduction='sum')``; it is written out here so the plugin names
    the SCOPS equation it implements.

    Args:
        loss_weight: λ_con.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, part_maps: Tensor) -> Tensor:
        """Concentration of channels 1..K of ``part_maps`` (B, K+1, h, w), softmax part maps."""
        if part_maps.dim() != 4 or part_maps.shape[1] < 2:
            raise ValueError(f'SCOPSConcentrationLoss: part_maps must be (B, K+1, h, w) with '
                             f'K >= 1, got {tuple(part_maps.shape)}')
        parts = part_maps[:, 1:]  # (B, K+1, h, w) -> (B, K, h, w)
        _, _, h, w = parts.shape
        grid = 2 * coordinate_grid(h, w, parts.device, parts.dtype) - 1  # (h, w, 2) in [-1, 1]
        centres = 2 * part_centroids(parts, eps=_EPS) - 1  # (B, K, 2)
        # (h, w, 2) - (B, K, 1, 1, 2) -> (B, K, h, w)
        sq_dist = (grid - centres[:, :, None, None, :]).pow(2).sum(-1)
        mass = parts.sum((2, 3)).clamp(min=_EPS)  # z_k: (B, K)
        per_part = (sq_dist * parts).sum((2, 3)) / mass  # (B, K)
        return self.loss_weight * per_part.sum(1).mean()
