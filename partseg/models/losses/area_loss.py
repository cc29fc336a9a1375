"""Area loss, He et al. 2022 Eq. (17)."""
import math

from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.precision import full_precision_forward


@MODELS.register_module()
class AreaLoss(nn.Module):
    """Area loss, He et al. 2022 Eq. (17): each part mask covers at least a minimum area.

    ``L_area = Σ_k max(0, A_k − Σ_p M_k(p))`` over the K foreground masks, averaged over the batch,
    with areas in pixels of the mask grid. The minimum area ``A_k`` is

    - ``min_area='heatmap'`` (paper, default): ``A_k = Σ_p H_k(p)``, the area of the part's
      heatmap on the same grid;
    - ``min_area='point_spread'`` (official code): ``A_k = π (τ_k · √(HW) / 2)²`` where
      ``τ_k = mean_i,c |x_k^i,c − x_k^c|`` is the mean absolute offset of the part's points from
      their mean in [-1, 1] coordinates, i.e. a disc of radius τ_k in a frame where the whole grid
      spans 2 units (the official ``π (64 τ_k)²`` at 128 × 128).

    Args:
        loss_weight (float): λ_area (1 in every experiment of the paper).
        min_area (str): ``'heatmap'`` (paper) or ``'point_spread'`` (official).
    """

    def __init__(self, loss_weight: float = 1.0, min_area: str = 'heatmap') -> None:
        super().__init__()
        if min_area not in ('heatmap', 'point_spread'):
            raise ValueError(f"min_area must be 'heatmap' or 'point_spread', got {min_area!r}")
        self.loss_weight = loss_weight
        self.min_area = min_area

    def minimum_area(self, heatmaps: Tensor, points: Tensor, grid_hw) -> Tensor:
        """(B, K) minimum areas in mask-grid pixels (see the class docstring)."""
        if self.min_area == 'heatmap':
            return heatmaps.sum((2, 3))  # (B, K, H, W) -> (B, K)
        h, w = grid_hw
        centers = points.mean(2, keepdim=True)  # (B, K, n, 2) -> (B, K, 1, 2)
        tau = (points - centers).flip(-1).abs().mean((2, 3))  # (B, K), the official (y, x) order
        return math.pi * (tau * math.sqrt(h * w) / 2).pow(2)

    @full_precision_forward
    def forward(self, masks: Tensor, heatmaps: Tensor, points: Tensor) -> Tensor:
        """``masks``, ``heatmaps`` (B, K, H, W) (background dropped); ``points`` (B, K, n, 2)."""
        if heatmaps.shape != masks.shape:
            raise ValueError(f'heatmaps {tuple(heatmaps.shape)} and masks {tuple(masks.shape)} '
                             'must be on the same grid')
        deficit = self.minimum_area(heatmaps, points, masks.shape[-2:]) - masks.sum((2, 3))
        return self.loss_weight * deficit.clamp(min=0).sum(1).mean()
