"""Background generator (level 3), He et al. 2022 Eq. (9)-(10)."""
from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from partseg.models.layers import (AdaINConvBlock, RelativePositionalEncoding,
                                   check_feature_map_sizes, check_margin, crop_margin, margin_grid,
                                   upsample_and_crop, upsample_flags)
from partseg.registry import MODELS
from .point_generator import build_mlp

BG_POSITION_MODES = ('xy', 'horizontal')


@MODELS.register_module()
class BackgroundGenerator(nn.Module):
    """Background generator, He et al. 2022 Eq. (9)-(10): AdaIN ConvBlocks styled by MLP(z_bg).

    ``w_bg = MLP_bg(z_bg)`` (Eq. 9); the start tensor B^(0) is the relative positional encoding
    (Eq. 5) of the background position ``u_bg`` on the margin grid of the first resolution; AdaIN
    ConvBlocks styled by w_bg (Eq. 10), 2x upsampling and cropping back to the margin between
    blocks whose resolutions differ. Output: D_emb channels, margin cropped.

    ``bg_position_mode='xy'`` (paper) uses ``u_bg ∈ [-1, 1]²`` as given; ``'horizontal'`` (official
    code for every dataset; the paper for Taichi, appendix B.4) keeps only its x and sets y = 0.

    Args:
        z_dim (int): noise dimension, also the MLP's hidden width.
        emb_dim (int): D_emb, the style length and the output channels.
        channels (Sequence[int]): input channels of each block; block i maps
            ``channels[i] -> channels[i+1]``, the last one ``-> emb_dim``.
        feature_map_sizes (Sequence[int]): resolution (without margin) of each block.
        mlp_layers (int): linear layers of MLP_bg (paper: 3; official: 4).
        adain_hidden (int): AdaIN hidden width (official: 128).
        bg_position_mode (str): ``'xy'`` (paper) or ``'horizontal'`` (official).
        margin (int): margin in pixels (paper: 10).
        grid_type (str): ``'centres'`` (paper Eq. 12) or ``'linspace'`` (official).
        norm_cfg (dict, optional): AdaIN normalisation (default BN without affine, appendix B.3).
        negative_slope (float): LeakyReLU slope.
        with_cp (bool): activation checkpointing of every block in training (toolbox option):
            less memory, one more forward of the blocks. Default False.
    """

    def __init__(self,
                 z_dim: int,
                 emb_dim: int,
                 channels: Sequence[int],
                 feature_map_sizes: Sequence[int],
                 mlp_layers: int = 3,
                 adain_hidden: int = 128,
                 bg_position_mode: str = 'xy',
                 margin: int = 10,
                 grid_type: str = 'centres',
                 norm_cfg: Optional[dict] = None,
                 negative_slope: float = 0.2,
                 with_cp: bool = False) -> None:
        super().__init__()
        self.feature_map_sizes = check_feature_map_sizes(feature_map_sizes)
        if len(channels) != len(self.feature_map_sizes):
            raise ValueError(f'background channels {tuple(channels)} must give one entry per '
                             f'block of feature_map_sizes {self.feature_map_sizes}')
        if bg_position_mode not in BG_POSITION_MODES:
            raise ValueError(f'bg_position_mode must be one of {BG_POSITION_MODES}, '
                             f'got {bg_position_mode!r}')
        check_margin(margin, grid_type)
        self.bg_position_mode = bg_position_mode
        self.margin = margin
        self.grid_type = grid_type
        self.upsample_after = upsample_flags(self.feature_map_sizes)
        self.mlp = build_mlp(z_dim, z_dim, emb_dim, mlp_layers, negative_slope)
        self.start = RelativePositionalEncoding(1, channels[0])
        outs = tuple(channels[1:]) + (emb_dim, )
        self.blocks = nn.ModuleList(
            AdaINConvBlock(c_in, c_out, emb_dim, adain_hidden, norm_cfg, negative_slope, with_cp)
            for c_in, c_out in zip(channels, outs))

    def position(self, bg_position: Tensor) -> Tensor:
        """(B, 2) sampled background position -> (B, 2) position used (y zeroed if horizontal)."""
        if self.bg_position_mode == 'xy':
            return bg_position
        return torch.stack((bg_position[:, 0], torch.zeros_like(bg_position[:, 1])), dim=1)

    def forward(self, z_bg: Tensor, bg_position: Tensor) -> Tensor:
        """``z_bg`` (B, z_dim), ``bg_position`` (B, 2) in [-1, 1] -> background (B, D_emb, S, S)."""
        w_bg = self.mlp(z_bg)  # (B, D_emb)
        grid = margin_grid(self.feature_map_sizes[0], self.feature_map_sizes[0], self.margin,
                           self.grid_type, z_bg.device, z_bg.dtype)
        x = self.start(self.position(bg_position)[:, None], grid)  # (B, C_0, S+2m, S+2m)
        for block, upsample in zip(self.blocks, self.upsample_after):
            x = block(x, w_bg)  # (B, C_i, S+2m, S+2m) -> (B, C_i+1, S+2m, S+2m)
            if upsample:
                x = upsample_and_crop(x, self.margin)  # -> (B, C_i+1, 2S+2m, 2S+2m)
        return crop_margin(x, self.margin)  # (B, D_emb, S, S)
