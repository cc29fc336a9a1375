"""Coordinate grids and part centroids shared by losses, metrics and visualisation."""
import torch
from torch import Tensor


def coordinate_grid(height: int,
                    width: int,
                    device=None,
                    dtype=torch.float32,
                    align_corners: bool = False) -> Tensor:
    """Pixel-centre coordinates normalised to (0, 1): ``grid[i, j] = ((j + .5) / W, (i + .5) / H)``.

    Returns a (H, W, 2) tensor holding (x, y); multiply by (W, H) for pixel units where pixel j
    spans [j, j + 1). ``align_corners=True`` gives ``(j / (W - 1), i / (H - 1))`` instead (0 at
    the first pixel, 1 at the last: ``torch.linspace(0, 1, W)``, the official DisPart code's grid).
    """
    if align_corners:
        ys = torch.linspace(0, 1, height, device=device, dtype=dtype)
        xs = torch.linspace(0, 1, width, device=device, dtype=dtype)
    else:
        ys = (torch.arange(height, device=device, dtype=dtype) + 0.5) / height
        xs = (torch.arange(width, device=device, dtype=dtype) + 0.5) / width
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack((grid_x, grid_y), dim=-1)


def part_centroids(part_maps: Tensor,
                   clamp_norm: bool = False,
                   eps: float = 1e-8,
                   align_corners: bool = False) -> Tensor:
    """Part centres, Liu et al. 2021 Eq. (8): ``c_k = sum_uv (u, v) S_k,uv / z_k``.

    ``part_maps``: (B, C, H, W) non-negative maps. ``z_k = sum_uv S_k,uv`` (a weighted mean), or
    with ``clamp_norm=True`` Eq. (9)'s ``z_k = min(sum_uv S_k,uv, 1)``. Returns (B, C, 2) (x, y)
    in the normalised coordinates of :func:`coordinate_grid` (``align_corners`` as there).
    """
    b, c, h, w = part_maps.shape
    grid = coordinate_grid(h, w, part_maps.device, part_maps.dtype, align_corners).view(h * w, 2)
    flat = part_maps.reshape(b, c, h * w)  # (B, C, H, W) -> (B, C, HW)
    mass = flat.sum(-1, keepdim=True)
    z = mass.clamp(max=1.0) if clamp_norm else mass
    return flat @ grid / z.clamp(min=eps)  # (B, C, HW) @ (HW, 2) -> (B, C, 2)
