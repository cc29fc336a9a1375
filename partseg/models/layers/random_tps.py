"""Random thin-plate-spline warps (Jakab et al. 2018's sampler, DisPart appendix A.1)."""
import math
from typing import Tuple

import torch
from kornia.geometry.grid import create_meshgrid
from kornia.geometry.transform import warp_points_tps
from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.checks import check_int

__all__ = ['RandomTPS']


@MODELS.register_module()
class RandomTPS(nn.Module):
    """Random TPS warps of Liu et al. 2021 appendix A.1 (the sampler of Jakab et al. 2018).

    A warp is the output-to-source map ``f(p) = t + R(rotation) * scale * p +
    sum_i w_i * U(|p - c_i|)`` with ``U(r) = r^2 log r^2`` and ``grid_size`` x ``grid_size``
    control points ``c_i`` on a regular grid in [-1, 1]^2; each ``w_i`` (one per point and axis)
    ~ N(0, point_std^2) plus, with probability ``extra_point_prob``, an extra
    N(0, extra_point_std^2); ``t`` ~ N(0, translation_std^2) per axis, the rotation
    ~ N(0, rotation_std^2) degrees, the scale ~ 1 + N(0, scale_std^2). Coordinates are normalised
    to [-1, 1] with ``align_corners=False`` (kornia's frame, pixel centres), so a warp is the same
    geometric map at any resolution. All draws come from torch's global RNG on the requested
    device, so MMEngine's seeding makes them reproducible. With every std 0 the warp is the
    identity.

    :meth:`sample` draws warps as kornia ``(kernel_centers, kernel_weights, affine_weights)``;
    :meth:`grid` evaluates them on an (h, w) pixel grid for ``grid_sample``. DisPart's
    ``TPSPairPreprocessor`` and the SCOPS plugin both warp with this module.

    Args:
        grid_size: control points per side (A.1: 10).
        point_std: std of every control-point coefficient (A.1: 0.001).
        extra_point_std: std of the extra perturbation (A.1: 0.005).
        extra_point_prob: probability of the extra perturbation per coefficient (A.1: 0.5).
        translation_std: std of the affine translation (A.1: 0.1).
        rotation_std: std of the affine rotation in degrees (A.1: 0).
        scale_std: std of the affine scale around 1 (A.1: 0).
    """

    def __init__(self,
                 grid_size: int = 10,
                 point_std: float = 0.001,
                 extra_point_std: float = 0.005,
                 extra_point_prob: float = 0.5,
                 translation_std: float = 0.1,
                 rotation_std: float = 0.0,
                 scale_std: float = 0.0) -> None:
        super().__init__()
        check_int(grid_size, 'grid_size', 2)
        for key, value in (('point_std', point_std), ('extra_point_std', extra_point_std),
                           ('translation_std', translation_std), ('rotation_std', rotation_std),
                           ('scale_std', scale_std)):
            if not value >= 0:
                raise ValueError(f'{key} must be >= 0, got {value!r}')
        if not 0 <= extra_point_prob <= 1:
            raise ValueError(f'extra_point_prob must be in [0, 1], got {extra_point_prob!r}')
        self.grid_size = grid_size
        self.point_std = point_std
        self.extra_point_std = extra_point_std
        self.extra_point_prob = extra_point_prob
        self.translation_std = translation_std
        self.rotation_std = rotation_std
        self.scale_std = scale_std
        side = torch.linspace(-1, 1, grid_size)
        ys, xs = torch.meshgrid(side, side, indexing='ij')
        # (G*G, 2) control points (x, y), x varying fastest.
        self.register_buffer('control_points', torch.stack((xs, ys), -1).view(-1, 2), False)
        self._basis_cache = None  # (key, coords (HW, 2), kernel (HW, N)) of control_points

    def sample(self, num: int, device: torch.device,
               dtype: torch.dtype) -> Tuple[Tensor, Tensor, Tensor]:
        """``num`` random TPS as kornia ``(kernel_centers, kernel_weights, affine_weights)``.

        Shapes (num, G*G, 2), (num, G*G, 2), (num, 3, 2); maps output to source coordinates.
        """
        shape = (num, self.grid_size**2, 2)
        weights = torch.randn(shape, device=device, dtype=dtype) * self.point_std
        extra = torch.rand(shape, device=device, dtype=dtype) < self.extra_point_prob
        weights = weights + extra * torch.randn(
            shape, device=device, dtype=dtype) * self.extra_point_std
        # kornia's kernel is r^2 log r = (r^2 log r^2) / 2: twice the coefficient, same warp.
        kernel_weights = 2 * weights
        translation = torch.randn(num, 2, device=device, dtype=dtype) * self.translation_std
        angle = torch.randn(num, device=device, dtype=dtype) * math.radians(self.rotation_std)
        scale = 1 + torch.randn(num, device=device, dtype=dtype) * self.scale_std
        cos, sin = scale * angle.cos(), scale * angle.sin()
        # rows: offset, then the x and y coefficients: f_x = t_x + cos x + sin y,
        # f_y = t_y - sin x + cos y.
        affine = torch.stack((translation, torch.stack((cos, -sin), -1), torch.stack(
            (sin, cos), -1)),
                             dim=1)  # (num, 3, 2)
        centers = self.control_points.to(device=device, dtype=dtype).expand(shape)
        return centers, kernel_weights, affine

    def _basis(self, h: int, w: int, centers: Tensor) -> Tuple[Tensor, Tensor]:
        """Pixel centres (HW, 2) in [-1, 1] and kornia's TPS kernel ``r^2 log r`` to ``centers``
        (N, 2), (HW, N). Cached for the last size, device and dtype when ``centers`` is this
        module's ``control_points`` tensor itself (as :meth:`sample` returns it), so the check
        needs no comparison of values (no device synchronisation)."""
        points = self.control_points
        own = (
            centers.data_ptr() == points.data_ptr() and centers.shape == points.shape
            and centers.dtype == points.dtype)
        key = (h, w, centers.device, centers.dtype)
        if own and self._basis_cache is not None and self._basis_cache[0] == key:
            return self._basis_cache[1], self._basis_cache[2]
        coords = create_meshgrid(
            h,
            w,
            normalized_coordinates=True,
            device=centers.device,
            dtype=centers.dtype,
            align_corners=False).reshape(h * w, 2)
        d2 = (coords[:, None] - centers[None]).pow(2).sum(-1)  # (HW, N)
        kernel = torch.where(d2 > 0, 0.5 * d2 * d2.clamp(min=1e-30).log(), torch.zeros_like(d2))
        if own:
            self._basis_cache = (key, coords, kernel)
        return coords, kernel

    def grid(self, warps: Tuple[Tensor, Tensor, Tensor], size: Tuple[int, int]) -> Tensor:
        """The output-to-source ``grid_sample`` grid (B, h, w, 2) of ``warps`` on an (h, w) grid.

        ``warps`` are kornia ``(kernel_centers, kernel_weights, affine_weights)``, (B, N, 2),
        (B, N, 2), (B, 3, 2), as :meth:`sample` draws them; the result is kornia's
        ``warp_points_tps`` at the pixel centres (``align_corners=False``). Warps whose control
        points are one (N, 2) tensor expanded over the batch (as sampled) evaluate the radial
        basis once for the whole batch.
        """
        centers, kernel_weights, affine = warps
        batch, (h, w) = centers.shape[0], size
        if batch > 1 and centers.stride(0) != 0:  # each warp its own control points
            coords = create_meshgrid(
                h,
                w,
                normalized_coordinates=True,
                device=centers.device,
                dtype=centers.dtype,
                align_corners=False).reshape(1, h * w, 2).expand(batch, h * w, 2)
            return warp_points_tps(coords, centers, kernel_weights, affine).view(batch, h, w, 2)
        coords, kernel = self._basis(h, w, centers[0])  # (HW, 2), (HW, N)
        # warp_points_tps with the control points shared by every warp: the (HW, N) radial basis
        # is computed once instead of a (B, HW, N, 2) product
        grid = kernel @ kernel_weights + coords @ affine[:, 1:] + affine[:, :1]  # (B, HW, 2)
        return grid.view(batch, h, w, 2)

    def extra_repr(self) -> str:
        return (f'grid_size={self.grid_size}, point_std={self.point_std}, '
                f'extra_point_std={self.extra_point_std}, '
                f'extra_point_prob={self.extra_point_prob}, '
                f'translation_std={self.translation_std}, rotation_std={self.rotation_std}, '
                f'scale_std={self.scale_std}')
