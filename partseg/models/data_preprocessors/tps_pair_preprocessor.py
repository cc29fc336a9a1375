"""TPS image pairs of DisPart, Liu et al. 2021 Sec. 3.1 and appendix A.1, made on the device."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor
from mmengine.structures import PixelData
from torch import Tensor

from partseg.models.layers.random_tps import RandomTPS
from partseg.registry import MODELS
from partseg.structures import PartDataSample

#: Data-sample field holding the TPS validity masks, :class:`PixelData` (2, H, W): channel v is
#: view v's mask, 1 where the warp sampled inside the source image, 0 outside (soft at the edge).
TPS_MASK_KEY = 'tps_valid_mask'


def _tps_parameter(name: str) -> property:
    """A read-only view of the random TPS's parameter ``name``."""
    return property(lambda self: getattr(self.tps, name), doc=f'``tps.{name}``')


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

    The random TPS are drawn by :class:`~partseg.models.layers.RandomTPS` (attribute ``tps``),
    the sampler the paper adopts (Jakab et al.'s, which the official code uses); its arguments
    below are passed on to it unchanged.

    Args:
        mean, std: per-channel RGB normalisation, ``(x - mean) / std``; 127.5 maps to [-1, 1].
        grid_size, point_std, extra_point_std, extra_point_prob, translation_std, rotation_std,
            scale_std: the random TPS, see :class:`~partseg.models.layers.RandomTPS` (A.1: 10,
            0.001, 0.005, 0.5, 0.1, 0, 0).
        padding_mode: ``'zeros'`` (black, the official code), ``'border'`` or ``'reflection'``
            (``torch.nn.functional.grid_sample``'s modes) for the area outside the source image.
        pad_size_divisor, pad_value, non_blocking: as in mmengine's ``ImgDataPreprocessor``.
    """

    num_views = 2
    grid_size = _tps_parameter('grid_size')
    point_std = _tps_parameter('point_std')
    extra_point_std = _tps_parameter('extra_point_std')
    extra_point_prob = _tps_parameter('extra_point_prob')
    translation_std = _tps_parameter('translation_std')
    rotation_std = _tps_parameter('rotation_std')
    scale_std = _tps_parameter('scale_std')

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
        if padding_mode not in ('zeros', 'border', 'reflection'):
            raise ValueError(f"padding_mode must be 'zeros', 'border' or 'reflection', got "
                             f'{padding_mode!r}')
        self.padding_mode = padding_mode
        self.tps = RandomTPS(
            grid_size=grid_size,
            point_std=point_std,
            extra_point_std=extra_point_std,
            extra_point_prob=extra_point_prob,
            translation_std=translation_std,
            rotation_std=rotation_std,
            scale_std=scale_std)

    @property
    def control_points(self) -> Tensor:
        """(G*G, 2) control points (x, y) of the random TPS, x varying fastest."""
        return self.tps.control_points

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
        """``num`` random TPS as kornia ``(kernel_centers, kernel_weights, affine_weights)``
        (:meth:`RandomTPS.sample`): (num, G*G, 2), (num, G*G, 2), (num, 3, 2)."""
        return self.tps.sample(num, device, dtype)

    def make_pairs(self, images: Tensor) -> Tuple[Tensor, Tensor]:
        """(B, 3, H, W) normalised images -> (B, 2, 3, H, W) TPS views and (B, 2, H, W) masks."""
        b, c, h, w = images.shape
        v = self.num_views
        zero = self.normalized_zero().to(images)
        # Warp the image shifted so black is 0 (zero padding = black) with a channel of ones
        # (its warp is the validity mask); one grid_sample for all B * 2 warps.
        stacked = torch.cat((images - zero, images.new_ones(b, 1, h, w)), dim=1)  # (B, 4, H, W)
        stacked = stacked.unsqueeze(1).expand(b, v, c + 1, h, w).reshape(b * v, c + 1, h, w)
        warps = self.sample_tps(b * v, images.device, images.dtype)
        grid = self.tps.grid(warps, (h, w))  # (2B, H, W, 2)
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
        return f'padding_mode={self.padding_mode!r}'
