"""Mask generator (level 2), He et al. 2022 Eq. (4)-(6), margin-and-crop scheme of Eq. (12)."""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from partseg.models.layers import (PartHeatmaps, RelativePositionalEncoding, SPADEResBlock,
                                   check_feature_map_sizes, check_margin, crop_margin, margin_grid,
                                   part_style_map, upsample_and_crop, upsample_flags)
from partseg.registry import MODELS
from partseg.utils.precision import to_full_precision


@MODELS.register_module()
class MaskGenerator(nn.Module):
    """Mask generator, He et al. 2022 Eq. (4)-(6): K+1 softmax masks from points and embeddings.

    The start tensor M^(0) is the relative positional encoding (Eq. 5) of all n_per·K points on the
    margin grid (Eq. 12) of the first resolution. Before block i, the part heatmaps H_k (Eq. 4) are
    evaluated on the margin grid of that block's resolution and ``W_mask = Σ_k H_k w_k`` conditions
    the SPADE ResBlock. Between blocks whose resolutions differ: 2x upsampling, crop back to the
    margin. The last block outputs K+1 channels; after cropping the margin, a softmax gives the
    masks, channel 0 the background (Eq. 6).

    Args:
        num_parts (int): K.
        n_per (int): points per part.
        emb_dim (int): D_emb, channels of W_mask.
        channels (Sequence[int]): input channels of each block; ``channels[0]`` is the start
            tensor's. Block i maps ``channels[i] -> channels[i+1]``, the last one ``-> K+1``
            (official: ``(512, 64, 64, 64)`` for 4 blocks).
        feature_map_sizes (Sequence[int]): resolution (without margin) of each block, each the
            same as or twice the previous (official: ``(32, 32, 64, 128)``).
        spade_hidden (int): SPADE hidden width (official: 128).
        heatmap_type (str): ``'gaussian'`` (paper Eq. 4) or ``'linear'`` (official cone).
        margin (int): margin in pixels at every resolution (paper: 10).
        grid_type (str): margin-grid convention, ``'centres'`` (paper Eq. 12) or ``'linspace'``
            (official); see :func:`margin_grid`.
        norm_cfg (dict, optional): SPADE normalisation (default BN without affine).
        negative_slope (float): LeakyReLU slope.
        with_cp (bool): activation checkpointing of every block in training (toolbox option):
            less memory, one more forward of the blocks. Default False.
    """

    def __init__(self,
                 num_parts: int,
                 n_per: int,
                 emb_dim: int,
                 channels: Sequence[int],
                 feature_map_sizes: Sequence[int],
                 spade_hidden: int = 128,
                 heatmap_type: str = 'gaussian',
                 margin: int = 10,
                 grid_type: str = 'centres',
                 norm_cfg: Optional[dict] = None,
                 negative_slope: float = 0.2,
                 with_cp: bool = False) -> None:
        super().__init__()
        self.feature_map_sizes = check_feature_map_sizes(feature_map_sizes)
        if len(channels) != len(self.feature_map_sizes):
            raise ValueError(f'mask channels {tuple(channels)} must give one entry per block '
                             f'of feature_map_sizes {self.feature_map_sizes}')
        self.num_parts = num_parts
        self.margin = margin
        self.grid_type = grid_type
        check_margin(margin, grid_type)
        self.upsample_after = upsample_flags(self.feature_map_sizes)
        self.start = RelativePositionalEncoding(num_parts * n_per, channels[0])
        self.heatmaps = PartHeatmaps(heatmap_type)
        outs = tuple(channels[1:]) + (num_parts + 1, )
        self.blocks = nn.ModuleList(
            SPADEResBlock(c_in, c_out, emb_dim, spade_hidden, norm_cfg, negative_slope, with_cp)
            for c_in, c_out in zip(channels, outs))

    def grid(self, size: int, device=None, dtype=torch.float32) -> Tensor:
        """Margin grid (size+2m, size+2m, 2) of one block resolution."""
        return margin_grid(size, size, self.margin, self.grid_type, device, dtype)

    def forward(self, points: Tensor, part_locations: Tensor, part_scales: Tensor,
                part_embeddings: Tensor) -> Tuple[Tensor, Tensor]:
        """``points`` (B, K, n_per, 2), ``part_locations`` (B, K, 2), ``part_scales`` (B, K),
        ``part_embeddings`` (B, K, D_emb) -> ``masks`` (B, K+1, S, S) softmax probabilities
        (channel 0 background) and ``heatmaps`` (B, K, S, S) on the same grid, S the last size."""
        device, dtype = points.device, points.dtype
        grid = self.grid(self.feature_map_sizes[0], device, dtype)
        x = self.start(points.flatten(1, 2), grid)  # (B, K·n_per, 2) -> (B, C_0, S+2m, S+2m)
        for size, block, upsample in zip(self.feature_map_sizes, self.blocks, self.upsample_after):
            grid = self.grid(size, device, dtype)
            heatmaps = self.heatmaps(part_locations, part_scales, grid)  # (B, K, S+2m, S+2m)
            w_mask = part_style_map(heatmaps, part_embeddings)  # (B, D_emb, S+2m, S+2m)
            x = block(x, w_mask)  # (B, C_i, S+2m, S+2m) -> (B, C_i+1, S+2m, S+2m)
            if upsample:
                x = upsample_and_crop(x, self.margin)  # -> (B, C_i+1, 2S+2m, 2S+2m)
        # softmax in fp32 also under autocast (fp32 / fp64 logits are left as they are), over the
        # channels in the official order (background last): its masks bitwise in fp32
        logits = to_full_precision(crop_margin(x, self.margin)).roll(-1, dims=1)  # bg last
        masks = logits.softmax(dim=1).roll(1, dims=1)  # (B, K+1, S, S), background first
        return masks, crop_margin(heatmaps, self.margin)
