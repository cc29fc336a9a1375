"""Part heatmaps, He et al. 2022 Eq. (4) (Gaussian) and the official code's linear cone; the
embedding-weighted sum of part maps of Eq. (6)-(7)."""
from torch import Tensor, nn

from partseg.registry import MODELS

HEATMAP_TYPES = ('gaussian', 'linear')


@MODELS.register_module()
class PartHeatmaps(nn.Module):
    """Part heatmaps, He et al. 2022 Eq. (4): ``H_k(p) = exp(-‖p - x_k‖² / σ_k²)``.

    ``heatmap_type='gaussian'`` (paper, default) is Eq. (4) (σ² rather than 2σ², as the paper
    notes); ``'linear'`` (the official code's shipped configs) is the cone
    ``H_k(p) = max(0, 1 - ‖p - x_k‖ / τ_k)``. ``eps`` is added to the denominator (σ_k² or τ_k),
    as the official code does (1e-6), so a collapsed part gives a finite map.

    Parameter-free; evaluated on any grid, e.g. the margin grid of each resolution (Sec. 3.3).
    """

    def __init__(self, heatmap_type: str = 'gaussian', eps: float = 1e-6) -> None:
        super().__init__()
        if heatmap_type not in HEATMAP_TYPES:
            raise ValueError(f'heatmap_type must be one of {HEATMAP_TYPES}, got {heatmap_type!r}')
        self.heatmap_type = heatmap_type
        self.eps = eps

    def forward(self, locations: Tensor, scales: Tensor, grid: Tensor) -> Tensor:
        """``locations`` (B, K, 2), ``scales`` (B, K), ``grid`` (H, W, 2) -> (B, K, H, W)."""
        diff = grid[None, None] - locations[:, :, None, None, :]  # (B, K, H, W, 2)
        scales = scales[:, :, None, None]  # (B, K) -> (B, K, 1, 1)
        if self.heatmap_type == 'gaussian':
            sq_dist = diff.pow(2).sum(-1)  # (B, K, H, W, 2) -> (B, K, H, W)
            return (-sq_dist / (scales.pow(2) + self.eps)).exp()
        # the norm over (Δy, Δx), the official order: its cones bitwise in fp32
        dist = diff.flip(-1).norm(dim=-1)  # (B, K, H, W, 2) -> (B, K, H, W)
        return (1 - dist / (scales + self.eps)).clamp(min=0)


def part_style_map(maps: Tensor, embeddings: Tensor) -> Tensor:
    """Style map of SPADE, He et al. 2022 Eq. (6)-(7): ``W = Σ_k M_k w_k``.

    ``maps`` (B, K, H, W) part maps (heatmaps H_k for the masks, masks M_k for the foreground),
    ``embeddings`` (B, K, D) part embeddings w_k -> (B, D, H, W). The parts are added one after
    the other, k = 1 .. K: the official code's summation order (bitwise its result in fp32)
    without its (B, K, D, H, W) intermediate.
    """
    style = maps[:, 0, None] * embeddings[:, 0, :, None, None]  # (B, D, H, W)
    for k in range(1, maps.shape[1]):
        style = style + maps[:, k, None] * embeddings[:, k, :, None, None]
    return style
