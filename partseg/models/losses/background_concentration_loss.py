"""Background concentration loss on the background part map."""
from typing import Sequence

import torch
from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.part_geometry import coordinate_grid
from partseg.utils.precision import full_precision_forward

_EPS = 1e-8


@MODELS.register_module()
class BackgroundConcentrationLoss(nn.Module):
    """Background concentration loss, Liu et al. 2021 Eq. (10)-(11).

    ``L_bg = sum_uv h(u, v)^2 S_0,uv / z_0`` on channel 0 of the part maps, averaged over the
    batch, where ``h(u, v) = min{u, W - u, v, H - v}`` is the distance of the pixel centre to the
    nearest image border (Eq. 11) and ``z_0 = min(sum_uv S_0,uv, 1)`` as Eq. (9) for k = 0 (the
    official code clamps z_0 the same way).

    Coordinates as in :class:`ForegroundConcentrationLoss`: the image spans ``coordinate_range``
    on each axis, so with the default (0, 1) (the official code's units) ``h`` of pixel column j is
    ``min(j + 0.5, W - j - 0.5) / W``. The official code also moves the borders ``0.01`` outwards
    (``border_margin=0.01``), doubles ``h^2`` (twice ``loss_weight``) and places pixel j at
    ``j / (W - 1)`` (``align_corners=True``).

    Args:
        loss_weight: lambda_bg of Eq. (12).
        normalizer: z_0: ``'clamp'`` = ``min(sum S_0, 1)`` (Eq. 9) or ``'sum'`` = ``sum S_0``.
        coordinate_range: (lo, hi) the image spans on both axes.
        border_margin: added to h, in coordinate units (official code: 0.01).
        align_corners: pixel j at ``j / (W - 1)`` of the range (official code) rather than at its
            centre ``(j + 0.5) / W``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 normalizer: str = 'clamp',
                 coordinate_range: Sequence[float] = (0.0, 1.0),
                 border_margin: float = 0.0,
                 align_corners: bool = False) -> None:
        super().__init__()
        if normalizer not in ('clamp', 'sum'):
            raise ValueError(f"BackgroundConcentrationLoss: normalizer must be 'clamp' or 'sum', "
                             f'got {normalizer!r}')
        if len(coordinate_range) != 2 or not coordinate_range[0] < coordinate_range[1]:
            raise ValueError(f'BackgroundConcentrationLoss: coordinate_range must be (lo, hi) with '
                             f'lo < hi, got {coordinate_range!r}')
        self.loss_weight = loss_weight
        self.normalizer = normalizer
        self.coordinate_range = (float(coordinate_range[0]), float(coordinate_range[1]))
        self.border_margin = border_margin
        self.align_corners = bool(align_corners)

    @full_precision_forward
    def forward(self, part_maps: Tensor) -> Tensor:
        """Border attraction of the background channel 0 of ``part_maps`` (B, K+1, H, W)."""
        if part_maps.dim() != 4 or part_maps.shape[1] < 1:
            raise ValueError(f'BackgroundConcentrationLoss: part_maps must be (B, K+1, H, W), got '
                             f'{tuple(part_maps.shape)}')
        background = part_maps[:, 0]  # (B, K+1, H, W) -> (B, H, W)
        h, w = background.shape[-2:]
        lo, hi = self.coordinate_range
        grid = lo + (hi - lo) * coordinate_grid(h, w, part_maps.device, part_maps.dtype,
                                                self.align_corners)
        # Eq. (11): (H, W, 2) -> (H, W)
        border_dist = torch.minimum(grid - lo, hi - grid).amin(-1) + self.border_margin
        mass = background.sum((1, 2))  # (B,)
        z = mass.clamp(max=1.0) if self.normalizer == 'clamp' else mass
        per_sample = (border_dist.pow(2) * background).sum((1, 2)) / z.clamp(min=_EPS)  # (B,)
        return self.loss_weight * per_sample.mean()
