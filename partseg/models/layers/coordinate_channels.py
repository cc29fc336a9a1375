"""Pixel-coordinate input channels of the DisPart decoder, Liu et al. 2021 appendix A.3."""
import torch
import torch.nn as nn
from torch import Tensor

from partseg.registry import MODELS
from partseg.utils.part_geometry import coordinate_grid


@MODELS.register_module()
class CoordinateChannels(nn.Module):
    """Coordinate channels, Liu et al. 2021 appendix A.3: A -> A~ = A (+) (x, y), (L+2) x H x W.

    Appends two channels holding every pixel's coordinates normalised by the map's width and
    height: channel ``C`` is x (horizontal), channel ``C+1`` is y (vertical).

    Args:
        align_corners: ``False`` (default) puts pixel ``j`` at its centre ``(j + 0.5) / W``, the
            partseg convention (:func:`partseg.utils.part_geometry.coordinate_grid`), so values lie
            in (0, 1). ``True`` uses ``j / (W - 1)`` (0 at the first pixel, 1 at the last), what the
            official DisPart code feeds its generator (``torch.linspace(0, 1, W)``).
    """

    num_channels = 2

    def __init__(self, align_corners: bool = False) -> None:
        super().__init__()
        if not isinstance(align_corners, bool):
            raise TypeError(f'align_corners must be a bool, got {align_corners!r}')
        self.align_corners = align_corners

    def coordinates(self, height: int, width: int, device=None, dtype=torch.float32) -> Tensor:
        """(2, H, W) map: row 0 the normalised x, row 1 the normalised y of each pixel."""
        if self.align_corners:
            xs = torch.linspace(0, 1, width, device=device, dtype=dtype)
            ys = torch.linspace(0, 1, height, device=device, dtype=dtype)
            grid = torch.stack(torch.meshgrid(xs, ys, indexing='xy'), dim=-1)  # (H, W, 2)
        else:
            grid = coordinate_grid(height, width, device=device, dtype=dtype)  # (H, W, 2)
        return grid.permute(2, 0, 1)  # (H, W, 2) -> (2, H, W)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            raise ValueError(
                f'CoordinateChannels expects a (B, C, H, W) tensor, got {tuple(x.shape)}')
        b, _, h, w = x.shape
        coords = self.coordinates(h, w, device=x.device, dtype=x.dtype)
        return torch.cat((x, coords.expand(b, 2, h, w)), dim=1)  # (B, C, H, W) -> (B, C+2, H, W)

    def extra_repr(self) -> str:
        return f'align_corners={self.align_corners}'
