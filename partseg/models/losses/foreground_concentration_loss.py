"""Foreground concentration loss on the K foreground part maps."""
from typing import Sequence

from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.part_geometry import coordinate_grid, part_centroids
from partseg.utils.precision import full_precision_forward

_EPS = 1e-8


@MODELS.register_module()
class ForegroundConcentrationLoss(nn.Module):
    """Foreground concentration loss, Liu et al. 2021 Eq. (7)-(9).

    ``L_fg = (1/K) sum_k sum_uv ||(u, v) - c_k||^2 S_k,uv / z_k`` over channels 1..K of the part
    maps, averaged over the batch, with ``z_k = min(sum_uv S_k,uv, 1)`` (Eq. 9).

    Coordinates: the image extent maps linearly onto ``coordinate_range`` on each axis, pixel
    centres at ``lo + (hi - lo) (j + 0.5) / W`` (:func:`coordinate_grid`). The default (0, 1)
    follows the official DisPart code, which places pixel centres at ``j / (W - 1)`` in [0, 1]
    (so its loss is ``(W / (W - 1))^2`` times this one); SCOPS uses (-1, 1).

    ``align_corners=True`` places pixel j at ``lo + (hi - lo) j / (W - 1)`` instead: the official
    code's exact grid (``torch.linspace``), for weight-level parity with it.

    Centres: by default ``c_k`` is the mass-weighted mean ``sum_uv (u, v) S_k,uv / sum_uv S_k,uv``
    as in the official code and SCOPS. Read literally, Eq. (8) divides by the clamped z_k of
    Eq. (9); then a part of mass M > 1 gets a "centre" M times its centroid and the loss stops
    being translation invariant. ``clamp_centroids=True`` gives that literal reading.

    Args:
        loss_weight: lambda_fg of Eq. (12).
        normalizer: z_k of Eq. (7): ``'clamp'`` = ``min(sum S_k, 1)`` (Eq. 9, official code);
            ``'sum'`` = ``sum S_k`` (SCOPS: a spatial variance).
        coordinate_range: (lo, hi) the image spans on both axes.
        part_reduction: ``'mean'`` over the K parts (Eq. 7's 1/K) or ``'sum'`` (official code).
        clamp_centroids: centres with the clamped z_k of Eq. (9) (literal Eq. 8).
        align_corners: pixel j at ``j / (W - 1)`` of the range (official code) rather than at its
            centre ``(j + 0.5) / W``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 normalizer: str = 'clamp',
                 coordinate_range: Sequence[float] = (0.0, 1.0),
                 part_reduction: str = 'mean',
                 clamp_centroids: bool = False,
                 align_corners: bool = False) -> None:
        super().__init__()
        if normalizer not in ('clamp', 'sum'):
            raise ValueError(f"ForegroundConcentrationLoss: normalizer must be 'clamp' or 'sum', "
                             f'got {normalizer!r}')
        if part_reduction not in ('mean', 'sum'):
            raise ValueError(f"ForegroundConcentrationLoss: part_reduction must be 'mean' or "
                             f"'sum', got {part_reduction!r}")
        if len(coordinate_range) != 2 or not coordinate_range[0] < coordinate_range[1]:
            raise ValueError(f'ForegroundConcentrationLoss: coordinate_range must be (lo, hi) with '
                             f'lo < hi, got {coordinate_range!r}')
        self.loss_weight = loss_weight
        self.normalizer = normalizer
        self.coordinate_range = (float(coordinate_range[0]), float(coordinate_range[1]))
        self.part_reduction = part_reduction
        self.clamp_centroids = clamp_centroids
        self.align_corners = bool(align_corners)

    @full_precision_forward
    def forward(self, part_maps: Tensor) -> Tensor:
        """Concentration of the foreground channels 1..K of ``part_maps`` (B, K+1, H, W)."""
        if part_maps.dim() != 4 or part_maps.shape[1] < 2:
            raise ValueError(f'ForegroundConcentrationLoss: part_maps must be (B, K+1, H, W) with '
                             f'K >= 1, got {tuple(part_maps.shape)}')
        parts = part_maps[:, 1:]  # (B, K+1, H, W) -> (B, K, H, W)
        _, _, h, w = parts.shape
        lo, hi = self.coordinate_range
        scale = hi - lo
        grid = lo + scale * coordinate_grid(h, w, parts.device, parts.dtype,
                                            self.align_corners)  # (H, W, 2)
        mass = parts.sum((2, 3))  # (B, K)
        clamped = mass.clamp(max=1.0)
        # the affine map lo + scale * c commutes with Eq. (8) only when its weights sum to one
        centre_norm = clamped if self.clamp_centroids else mass
        offset = lo * mass / centre_norm.clamp(min=_EPS)  # (B, K)
        centres = offset.unsqueeze(-1) + scale * part_centroids(
            parts, clamp_norm=self.clamp_centroids, eps=_EPS,
            align_corners=self.align_corners)  # (B, K, 2)
        # (H, W, 2) - (B, K, 1, 1, 2) -> (B, K, H, W)
        sq_dist = (grid - centres[:, :, None, None, :]).pow(2).sum(-1)
        z = clamped if self.normalizer == 'clamp' else mass
        per_part = (sq_dist * parts).sum((2, 3)) / z.clamp(min=_EPS)  # (B, K)
        per_sample = per_part.mean(1) if self.part_reduction == 'mean' else per_part.sum(1)
        return self.loss_weight * per_sample.mean()
