"""Foreground generator (level 3), He et al. 2022 Eq. (7)-(8)."""
from typing import Optional, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from partseg.models.layers import (RelativePositionalEncoding, SPADEResBlock,
                                   check_feature_map_sizes, check_margin, crop_margin, margin_grid,
                                   part_style_map, upsample_and_crop, upsample_flags)
from partseg.registry import MODELS


@MODELS.register_module()
class ForegroundGenerator(nn.Module):
    """Foreground generator, He et al. 2022 Eq. (7)-(8): SPADE ResBlocks on ``W_fg = Σ_k M_k w_k``.

    The start tensor F^(0) is the relative positional encoding (Eq. 5) of the K part locations on
    the margin grid of the first resolution. Before block i the K part masks (background channel
    dropped) are resized bilinearly to that block's resolution, replication-padded by the margin
    (official code) and ``W_fg = Σ_k M_k w_k`` (Eq. 7) conditions the SPADE ResBlock. Between
    blocks whose resolutions differ: 2x upsampling, crop back to the margin. Output: the
    foreground feature map F with D_emb channels, margin cropped.

    Args:
        num_parts (int): K.
        emb_dim (int): D_emb, channels of W_fg and of the output.
        channels (Sequence[int]): input channels of each block; block i maps
            ``channels[i] -> channels[i+1]``, the last one ``-> emb_dim``
            (official: ``(512, 256, 128, 64)`` for 4 blocks).
        feature_map_sizes (Sequence[int]): resolution (without margin) of each block.
        spade_hidden (int): SPADE hidden width (official: 128).
        margin (int): margin in pixels (paper: 10).
        grid_type (str): ``'centres'`` (paper Eq. 12) or ``'linspace'`` (official).
        norm_cfg (dict, optional): SPADE normalisation (default BN without affine).
        negative_slope (float): LeakyReLU slope.
        with_cp (bool): activation checkpointing of every block in training (toolbox option):
            less memory, one more forward of the blocks. Default False.
    """

    def __init__(self,
                 num_parts: int,
                 emb_dim: int,
                 channels: Sequence[int],
                 feature_map_sizes: Sequence[int],
                 spade_hidden: int = 128,
                 margin: int = 10,
                 grid_type: str = 'centres',
                 norm_cfg: Optional[dict] = None,
                 negative_slope: float = 0.2,
                 with_cp: bool = False) -> None:
        super().__init__()
        self.feature_map_sizes = check_feature_map_sizes(feature_map_sizes)
        if len(channels) != len(self.feature_map_sizes):
            raise ValueError(f'foreground channels {tuple(channels)} must give one entry per '
                             f'block of feature_map_sizes {self.feature_map_sizes}')
        check_margin(margin, grid_type)
        self.margin = margin
        self.grid_type = grid_type
        self.upsample_after = upsample_flags(self.feature_map_sizes)
        self.start = RelativePositionalEncoding(num_parts, channels[0])
        outs = tuple(channels[1:]) + (emb_dim, )
        self.blocks = nn.ModuleList(
            SPADEResBlock(c_in, c_out, emb_dim, spade_hidden, norm_cfg, negative_slope, with_cp)
            for c_in, c_out in zip(channels, outs))

    def part_masks_at(self, part_masks: Tensor, size: int) -> Tensor:
        """(B, K, S_m, S_m) part masks -> (B, K, size+2m, size+2m): resized, replication-padded."""
        if part_masks.shape[-1] != size or part_masks.shape[-2] != size:
            part_masks = F.interpolate(
                part_masks, size=(size, size), mode='bilinear',
                align_corners=False)  # (B, K, size, size)
        if self.margin == 0:
            return part_masks
        return F.pad(part_masks, [self.margin] * 4, mode='replicate')  # (B, K, size+2m, size+2m)

    def forward(self, masks: Tensor, part_locations: Tensor, part_embeddings: Tensor) -> Tensor:
        """``masks`` (B, K+1, S_m, S_m) (channel 0 background), ``part_locations`` (B, K, 2),
        ``part_embeddings`` (B, K, D_emb) -> foreground features (B, D_emb, S, S)."""
        grid = margin_grid(self.feature_map_sizes[0], self.feature_map_sizes[0], self.margin,
                           self.grid_type, part_locations.device, part_locations.dtype)
        x = self.start(part_locations, grid)  # (B, C_0, S+2m, S+2m)
        part_masks = masks[:, 1:]  # (B, K+1, S_m, S_m) -> (B, K, S_m, S_m)
        for size, block, upsample in zip(self.feature_map_sizes, self.blocks, self.upsample_after):
            resized = self.part_masks_at(part_masks, size)  # (B, K, S+2m, S+2m)
            w_fg = part_style_map(resized, part_embeddings)  # (B, D_emb, S+2m, S+2m)
            x = block(x, w_fg)  # (B, C_i, S+2m, S+2m) -> (B, C_i+1, S+2m, S+2m)
            if upsample:
                x = upsample_and_crop(x, self.margin)  # -> (B, C_i+1, 2S+2m, 2S+2m)
        return crop_margin(x, self.margin)  # (B, D_emb, S, S)
