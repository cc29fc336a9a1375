"""Relative positional encoding start tensors, He et al. 2022 Eq. (5), on the margin grids of
Eq. (12).

Also the margin-and-crop helpers of Sec. 3.3 that every GANSeg generator shares: the margin grid,
the feature-map resolution schedule and "2x upsample, then crop back to the margin".

Coordinates are (x, y) in [-1, 1]: x grows with the column, y with the row.
"""
import math
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.checks import check_int
from partseg.utils.precision import full_precision_forward

GRID_TYPES = ('centres', 'linspace')


def check_margin(margin: int, grid_type: str) -> None:
    """Validate a margin width (pixels, >= 0) and a margin-grid convention."""
    if grid_type not in GRID_TYPES:
        raise ValueError(f'grid_type must be one of {GRID_TYPES}, got {grid_type!r}')
    check_int(margin, 'margin', 0)


def margin_grid(height: int,
                width: int,
                margin: int = 10,
                grid_type: str = 'centres',
                device=None,
                dtype=torch.float32) -> Tensor:
    """Margin grid, He et al. 2022 Eq. (12): (H+2m, W+2m, 2) pixel coordinates (x, y).

    ``grid_type='centres'`` (paper): the (W + 2m) columns tile ``[-1 - 2m/W, 1 + 2m/W]``
    (Eq. 12 with m = 10), so column j (j = -m .. W+m-1 relative to the image) is centred at
    ``x_j = -1 + (2j + 1) / W``; inside the image these are the pixel centres of the project's
    coordinate convention (``align_corners=False``), which 2x bilinear upsampling preserves.
    ``grid_type='linspace'`` (official code): ``x_j = -1 + 2j / (W - 1)``, i.e.
    ``linspace(-1, 1, W)``
    extended by m steps on each side (image corners at exactly ±1).
    Rows likewise give y. ``grid[i, j] = (x_j, y_i)``.
    """
    check_margin(margin, grid_type)
    min_size = 2 if grid_type == 'linspace' else 1
    if height < min_size or width < min_size:
        raise ValueError(f"grid size must be >= {min_size} for grid_type={grid_type!r}, "
                         f'got ({height}, {width})')

    def axis(size: int) -> Tensor:
        if grid_type == 'centres':
            j = torch.arange(-margin, size + margin, device=device, dtype=dtype)
            return -1 + (2 * j + 1) / size
        # the official construction, op for op (bitwise its grid): the end point is 1 plus m
        # steps of linspace(-1, 1, W), then linspace(-end, end, W + 2m)
        inner = torch.linspace(-1, 1, size, dtype=dtype)
        end = float(1 + (inner[1] - inner[0]) * margin)
        return torch.linspace(-end, end, size + 2 * margin, device=device, dtype=dtype)

    grid_y, grid_x = torch.meshgrid(axis(height), axis(width), indexing='ij')
    return torch.stack((grid_x, grid_y), dim=-1)  # (H+2m, W+2m, 2)


def crop_margin(x: Tensor, margin: int) -> Tensor:
    """Drop ``margin`` pixels on each side of the last two dims: (.., H+2m, W+2m) -> (.., H, W)."""
    if margin == 0:
        return x
    return x[..., margin:-margin, margin:-margin]


def upsample_and_crop(x: Tensor, margin: int) -> Tensor:
    """He et al. 2022 Sec. 3.3: 2x bilinear upsampling (margin becomes 2m), then crop back to m."""
    # (B, C, S+2m, S+2m) -> (B, C, 2S+4m, 2S+4m) -> (B, C, 2S+2m, 2S+2m)
    x = F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)
    return crop_margin(x, margin)


def check_feature_map_sizes(sizes: Sequence[int], key: str = 'feature_map_sizes') -> Tuple[int]:
    """Validate a block resolution schedule: positive ints, each equal to or twice the last."""
    sizes = tuple(sizes)
    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in sizes):
        raise ValueError(f'{key} must be a non-empty sequence of positive ints, got {sizes!r}')
    for prev, nxt in zip(sizes, sizes[1:]):
        if nxt not in (prev, 2 * prev):
            raise ValueError(f'{key}: each size must equal or double the previous one, '
                             f'got {prev} -> {nxt} in {sizes!r}')
    return sizes


def upsample_flags(sizes: Sequence[int]) -> Tuple[bool]:
    """Whether to upsample after each block: the next block runs at twice the resolution."""
    return tuple(nxt != prev for prev, nxt in zip(sizes, sizes[1:])) + (False, )


@MODELS.register_module()
class RelativePositionalEncoding(nn.Module):
    """Relative positional encoding, He et al. 2022 Eq. (5): ``[sin(πFC(p - x)), cos(πFC(p - x))]``.

    The pixel-minus-point differences ``p - x_i`` of all N points are stacked into 2N channels
    (point-major: ``(x_1, y_1, x_2, y_2, ...)``, the layout of ``fc.weight``), mapped by a linear
    layer without activation to C/2 channels, scaled by π and encoded by sin and cos. Only
    differences enter, so moving every point by Δ shifts the tensor by Δ (appendix E).

    The linear layer runs as the official code's 1x1 convolution over channels-first differences,
    each point's y term before its x term (the official (row, column) order): the same sum in the
    same order, so converted official weights (``tools/model_converters/ganseg_official.py``)
    reproduce its start tensors bitwise in fp32.

    Args:
        num_points (int): N, the points the encoding is relative to (n_per·K for masks, K for the
            foreground, 1 for the background).
        out_channels (int): C, even.
    """

    def __init__(self, num_points: int, out_channels: int) -> None:
        super().__init__()
        if num_points <= 0:
            raise ValueError(f'num_points must be positive, got {num_points!r}')
        if out_channels <= 0 or out_channels % 2:
            raise ValueError(f'out_channels must be a positive even number, got {out_channels!r}')
        self.num_points = num_points
        self.out_channels = out_channels
        self.fc = nn.Linear(2 * num_points, out_channels // 2)

    @full_precision_forward  # phases of sin / cos in fp32 also under autocast
    def forward(self, points: Tensor, grid: Tensor) -> Tensor:
        """``points`` (B, N, 2), ``grid`` (H, W, 2) -> start tensor (B, C, H, W)."""
        b, n, _ = points.shape
        if n != self.num_points:
            raise ValueError(f'expected {self.num_points} points, got {n}')
        h, w, _ = grid.shape
        # (y, x) order per point, channels first: (B, N, H, W, 2) -> (B, 2N, H, W)
        diff = grid.flip(-1)[None, None] - points.flip(-1)[:, :, None, None, :]
        diff = diff.permute(0, 1, 4, 2, 3).reshape(b, 2 * n, h, w).contiguous()  # NCHW memory
        weight = self.fc.weight.view(-1, n, 2).flip(-1).reshape(-1, 2 * n, 1, 1)  # same order
        phase = F.conv2d(diff, weight, self.fc.bias) * math.pi  # (B, C/2, H, W)
        return torch.cat((phase.sin(), phase.cos()), dim=1)  # (B, C, H, W)
