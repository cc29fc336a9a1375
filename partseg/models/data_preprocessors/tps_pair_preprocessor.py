"""TPS image pairs of DisPart, Liu et al. 2021 Sec. 3.1 and appendix A.1, made on the device."""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from kornia.geometry.grid import create_meshgrid
from mmengine.model import ImgDataPreprocessor
from mmengine.structures import PixelData
from torch import Tensor

from partseg.registry import MODELS
from partseg.structures import PartDataSample

#: Data-sample field holding the TPS validity masks, :class:`PixelData` (2, H, W): channel v is
#: view v's mask, 1 where the warp sampled inside the source image, 0 outside (soft at the edge).
TPS_MASK_KEY = 'tps_valid_mask'


@MODELS.register_module()
class TPSPairPreprocessor(ImgDataPreprocessor):
    """TPS pair preprocessor, Liu et al. 2021 Sec. 3.1 / appendix A.1: x(1), x(2) = TPS warps of x.

    Normalises RGB images with ``mean`` / ``std`` (no channel swap). With ``training=False`` it
    returns ``{'inputs': (B, 3, H, W), 'data_samples': ...}``. With ``training=True`` it warps every
    image twice with independent random thin-plate splines on the images' device (kornia's
    ``warp_image_tps``, no loop over images) and returns ``{'inputs': (B, 2, 3, H, W),
    'data_samples': ...}``; each data sample gets the two views' validity masks in the field
    ``tps_valid_mask`` (:class:`PixelData` (2, H, W), see :data:`TPS_MASK_KEY`; data samples are
    created when the batch has none). Outside the source image the views are black (raw value 0),
    as in the official code (``padding_mode='zeros'``); ``'border'`` / ``'reflection'`` fill that
    area with the image's edge pixels / its mirror image instead (a toolbox option), so the views
    carry no black frame for the part maps to latch onto; the masks still mark where the warp
    left the image.

    The random TPS follows the sampler the paper adopts (Jakab et al.'s, which the official code
    uses), parametrised by its control-point coefficients: ``grid_size`` x ``grid_size`` control
    points on a regular grid in [-1, 1]^2, the output-to-source map
    ``f(p) = t + R(rotation) * scale * p + sum_i w_i * U(|p - c_i|)`` with ``U(r) = r^2 log r^2``,
    each ``w_i`` (one per point and axis) ~ N(0, point_std^2) plus, with probability
    ``extra_point_prob``, an extra N(0, extra_point_std^2); ``t`` ~ N(0, translation_std^2) per
    axis, the rotation ~ N(0, rotation_std^2) degrees, the scale ~ 1 + N(0, scale_std^2).
    Coordinates are normalised to [-1, 1] (kornia's ``align_corners=False`` frame). All draws
    come from torch's global RNG on the images' device, so mmengine's seeding makes them
    reproducible. With every std 0 the warp is the identity.

    Args:
        mean, std: per-channel RGB normalisation, ``(x - mean) / std``; 127.5 maps to [-1, 1].
        grid_size: control points per side (appendix A.1: 10).
        point_std: std of every control-point coefficient (A.1: 0.001).
        extra_point_std: std of the extra perturbation (A.1: 0.005).
        extra_point_prob: probability of the extra perturbation per coefficient (A.1: 0.5).
        translation_std: std of the affine translation (A.1: 0.1).
        rotation_std: std of the affine rotation in degrees (A.1: 0).
        scale_std: std of the affine scale around 1 (A.1: 0).
        padding_mode: ``'zeros'`` (black, the official code), ``'border'`` or ``'reflection'``
            (``torch.nn.functional.grid_sample``'s modes) for the area outside the source image.
        pad_size_divisor, pad_value, non_blocking: as in mmengine's ``ImgDataPreprocessor``.
    """

    num_views = 2

    def __init__(self,
                 mean: Optional[Sequence[float]] = (127.5, 127.5, 127.5),
                 std: Optional[Sequence[float]] = (127.5, 127.5, 127.5),
                 grid_size: int = 10,
                 point_std: float = 0.001,
                 extra_point_std: float = 0.005,
                 extra_point_prob: float = 0.5,
                 translation_std: float = 0.1,
                 rotation_std: float = 0.0,
                 scale_std: float = 0.0,
                 padding_mode: str = 'zeros',
                 pad_size_divisor: int = 1,
                 pad_value: Union[float, int] = 0,
                 non_blocking: Optional[bool] = False) -> None:
        if (mean is None) != (std is None):
            raise ValueError(f'mean and std must both be set or both be None, got mean={mean!r} '
                             f'std={std!r}')
        for key, value in (('mean', mean), ('std', std)):
            if value is not None and len(value) != 3:
                raise ValueError(f'{key} must have 3 values (RGB), got {value!r}')
        if std is not None and not all(s > 0 for s in std):
            raise ValueError(f'std must be positive, got {std!r}')
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=pad_size_divisor,
            pad_value=pad_value,
            non_blocking=non_blocking)
        if isinstance(grid_size, bool) or not isinstance(grid_size, int) or grid_size < 2:
            raise ValueError(f'grid_size must be an int >= 2, got {grid_size!r}')
        for key, value in (('point_std', point_std), ('extra_point_std', extra_point_std),
                           ('translation_std', translation_std), ('rotation_std', rotation_std),
                           ('scale_std', scale_std)):
            if not value >= 0:
                raise ValueError(f'{key} must be >= 0, got {value!r}')
        if padding_mode not in ('zeros', 'border', 'reflection'):
            raise ValueError(f"padding_mode must be 'zeros', 'border' or 'reflection', got "
                             f'{padding_mode!r}')
        self.padding_mode = padding_mode
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
        self._basis_cache = None  # ((h, w, device, dtype), coords (HW, 2), kernel (HW, N))

    def normalized_zero(self) -> Tensor:
        """(3, 1, 1) normalised value of a raw 0 (black) pixel."""
        if self._enable_normalize:
            return -self.mean / self.std
        return self.control_points.new_zeros(3, 1, 1)

    def to_unit_range(self, images: Tensor) -> Tensor:
        """Normalised RGB images (..., 3, H, W) -> raw values / 255 ([0, 1] for valid pixels)."""
        if self._enable_normalize:
            images = images * self.std + self.mean
        return images / 255.0

    def sample_tps(self, num: int, device: torch.device,
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

    def _tps_basis(self, h: int, w: int, device: torch.device,
                   dtype: torch.dtype) -> Tuple[Tensor, Tensor]:
        """Pixel centres (HW, 2) in [-1, 1] and kornia's TPS kernel ``r^2 log r`` to the control
        points, (HW, G*G); cached for the last image size, device and dtype."""
        key = (h, w, device, dtype)
        if self._basis_cache is None or self._basis_cache[0] != key:
            coords = create_meshgrid(
                h, w, normalized_coordinates=True, device=device, dtype=dtype,
                align_corners=False).reshape(h * w, 2)
            centers = self.control_points.to(device=device, dtype=dtype)  # (N, 2)
            d2 = (coords[:, None] - centers[None]).pow(2).sum(-1)  # (HW, N)
            kernel = torch.where(d2 > 0, 0.5 * d2 * d2.clamp(min=1e-30).log(), torch.zeros_like(d2))
            self._basis_cache = (key, coords, kernel)
        return self._basis_cache[1], self._basis_cache[2]

    def make_pairs(self, images: Tensor) -> Tuple[Tensor, Tensor]:
        """(B, 3, H, W) normalised images -> (B, 2, 3, H, W) TPS views and (B, 2, H, W) masks."""
        b, c, h, w = images.shape
        v = self.num_views
        zero = self.normalized_zero().to(images)
        # Warp the image shifted so black is 0 (zero padding = black) with a channel of ones
        # (its warp is the validity mask); one grid_sample for all B * 2 warps.
        stacked = torch.cat((images - zero, images.new_ones(b, 1, h, w)), dim=1)  # (B, 4, H, W)
        stacked = stacked.unsqueeze(1).expand(b, v, c + 1, h, w).reshape(b * v, c + 1, h, w)
        _, kernel_weights, affine = self.sample_tps(b * v, images.device, images.dtype)
        coords, kernel = self._tps_basis(h, w, images.device, images.dtype)  # (HW, 2), (HW, N)
        # kornia's warp_points_tps with the control points shared by every warp: the (HW, N)
        # radial basis is computed once per image size instead of a (2B, HW, N, 2) product.
        grid = (kernel @ kernel_weights + coords @ affine[:, 1:] + affine[:, :1])  # (2B, HW, 2)
        grid = grid.view(b * v, h, w, 2)
        if self.padding_mode != 'zeros':  # images with their own padding, masks from the ones
            images_part, ones_part = stacked.split((c, 1), dim=1)
            filled = F.grid_sample(
                images_part,
                grid,
                mode='bilinear',
                padding_mode=self.padding_mode,
                align_corners=False)  # (2B, 3, H, W)
            masks = F.grid_sample(
                ones_part, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
            return filled.view(b, v, c, h, w) + zero, masks.view(b, v, h, w)
        warped = F.grid_sample(
            stacked, grid, mode='bilinear', padding_mode='zeros',
            align_corners=False)  # (2B, 4, H, W)
        warped = warped.view(b, v, c + 1, h, w)  # (2B, 4, H, W) -> (B, 2, 4, H, W)
        return warped[:, :, :c] + zero, warped[:, :, c]

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        if not training:
            return data
        images = data['inputs']  # (B, 3, H, W)
        pairs, masks = self.make_pairs(images)  # (B, 2, 3, H, W), (B, 2, H, W)
        data_samples = data.get('data_samples')
        if data_samples is None:
            data_samples = [
                PartDataSample(metainfo=dict(img_shape=tuple(images.shape[-2:])))
                for _ in range(images.shape[0])
            ]
        if len(data_samples) != images.shape[0]:
            raise ValueError(f'data_samples has {len(data_samples)} entries for a batch of '
                             f'{images.shape[0]} images')
        for sample, mask in zip(data_samples, masks):
            sample.set_field(PixelData(data=mask), TPS_MASK_KEY)
        data['inputs'] = pairs
        data['data_samples'] = data_samples
        return data

    def extra_repr(self) -> str:
        return (f'grid_size={self.grid_size}, point_std={self.point_std}, '
                f'padding_mode={self.padding_mode!r}, '
                f'extra_point_std={self.extra_point_std}, '
                f'extra_point_prob={self.extra_point_prob}, '
                f'translation_std={self.translation_std}, rotation_std={self.rotation_std}, '
                f'scale_std={self.scale_std}')
