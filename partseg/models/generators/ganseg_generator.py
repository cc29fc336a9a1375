"""GANSeg hierarchical generator, He et al. 2022 Sec. 3.1-3.3, Eq. (1)-(12)."""
import copy
from typing import Dict, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from partseg.models.layers import margin_grid
from partseg.registry import MODELS
from partseg.utils.checks import check_int
from .background_generator import BackgroundGenerator
from .foreground_generator import ForegroundGenerator
from .mask_generator import MaskGenerator
from .point_generator import PointGenerator

NOISE_KEYS = ('z_point', 'z_app', 'z_bg', 'bg_position')
RGB_HEADS = ('conv3x3x2', 'conv1x1')

# The official code's initialisation: Kaiming-normal (a = 0.2, fan-in) conv/linear weights, zero
# biases; applied by ``init_weights()`` (the runner calls it).
KAIMING_LEAKY_INIT = dict(
    type='Kaiming',
    layer=['Conv2d', 'Linear'],
    a=0.2,
    mode='fan_in',
    nonlinearity='leaky_relu',
    distribution='normal',
    bias=0)


@MODELS.register_module()
class GANSegGenerator(BaseModule):
    """GANSeg hierarchical generator, He et al. 2022 Sec. 3.1-3.3: points -> masks -> image.

    Level 1 :class:`PointGenerator` (Eq. 1-3), level 2 :class:`MaskGenerator` (Eq. 4-6), level 3
    :class:`ForegroundGenerator` (Eq. 7-8) and :class:`BackgroundGenerator` (Eq. 9-10), blended in
    feature space (Eq. 11): ``I = tanh(Conv(act((1 - M_bg) ⊗ F + M_bg ⊗ B)))`` where Conv is the
    official two-layer 3x3 CNN ``D_emb -> D_emb -> 3`` with LeakyReLU before each conv
    (``rgb_head='conv3x3x2'``), or the single 1x1 conv ``D_emb -> 3`` of the official Flowers
    model (``rgb_head='conv1x1'``, its ``single_final=1``).
    All start tensors live on margin grids (Eq. 12) and every block resolution change is a 2x
    upsampling followed by a crop back to the margin.

    Coordinates: (x, y) in [-1, 1], x along columns, y along rows; with ``grid_type='centres'``
    pixel (i, j) of an S x S map has centre ``(-1 + (2j+1)/S, -1 + (2i+1)/S)`` (the project's
    pixel-centre convention, ``align_corners=False``); see :meth:`mask_grid`. A length of 1 in
    these units is S/2 pixels.

    ``sample_noise(batch_size, device)`` draws ``z_point``, ``z_app``, ``z_bg`` ~ N(0, I) of size
    ``z_dim`` and ``bg_position`` ~ U([-1, 1]²) from torch's global RNG; ``forward(noise)`` returns

    - ``image`` (B, 3, S, S) in [-1, 1];
    - ``masks`` (B, K+1, S, S) softmax probabilities, channel 0 the background;
    - ``heatmaps`` (B, K, S, S) part heatmaps (Eq. 4) on the same grid as ``masks``;
    - ``points`` (B, K, n_per, 2), ``part_locations`` (B, K, 2), ``part_scales`` (B, K) (in the
      coordinate units above), ``part_embeddings`` (B, K, D_emb);
    - ``mask_grid`` (S, S, 2) the (x, y) coordinates of the mask pixels.

    S = ``feature_map_sizes[-1]`` is both the image and the mask resolution.

    Paper-vs-official fields (paper default first): ``heatmap_type`` 'gaussian' | 'linear',
    ``scale_type`` 'std' | 'mean_abs', ``bg_position_mode`` 'xy' | 'horizontal', ``grid_type``
    'centres' | 'linspace', MLP depths 3/3/3 | 5/4/4 (``point_mlp_layers``, ``app_mlp_layers``,
    ``bg_mlp_layers``).

    Args:
        num_parts (int): K.
        n_per (int): points per part (paper: 4).
        z_dim (int): noise dimension and MLP width (official: 256).
        emb_dim (int): D_emb, part embedding and blended feature channels (official: 64).
        spade_hidden (int): SPADE hidden width (official: 128).
        adain_hidden (int): AdaIN hidden width (official: 128).
        feature_map_sizes (Sequence[int]): per-block resolution shared by the mask, foreground and
            background generators (official: (32, 32, 64, 128) or (32, 32, 64, 64, 128, 128)).
        mask_channels (Sequence[int]): input channels of each mask block (last block -> K+1).
        fg_channels (Sequence[int]): input channels of each foreground block (last -> D_emb).
        bg_channels (Sequence[int]): input channels of each background block (last -> D_emb).
        point_mlp_layers, app_mlp_layers, bg_mlp_layers (int): linear layers of the MLPs.
        point_divisor (float): points = tanh(MLP(z) / point_divisor) (official: 20).
        scale_type (str): part scale, ``'std'`` (Eq. 1) or ``'mean_abs'`` (official).
        heatmap_type (str): ``'gaussian'`` (Eq. 4) or ``'linear'`` (official cone).
        bg_position_mode (str): ``'xy'`` (paper) or ``'horizontal'`` (official).
        grid_type (str): ``'centres'`` (Eq. 12) or ``'linspace'`` (official).
        margin (int): margin in pixels at every resolution (paper: 10).
        rgb_head (str): the blend's Conv of Eq. (11), ``'conv3x3x2'`` or ``'conv1x1'`` (above).
        norm_cfg (dict, optional): SPADE/AdaIN normalisation (default BN without affine).
        negative_slope (float): LeakyReLU slope (official: 0.2).
        with_cp (bool): activation checkpointing of the mask, foreground and background blocks in
            training (toolbox option): their activations are recomputed in the backward pass
            instead of kept, for less memory and one more forward of the blocks. Default False.
        init_cfg (dict, optional): weight init run by ``init_weights()`` (default: the official
            Kaiming-normal init); None keeps PyTorch's default init.
    """

    def __init__(self,
                 num_parts: int,
                 n_per: int = 4,
                 z_dim: int = 256,
                 emb_dim: int = 64,
                 spade_hidden: int = 128,
                 adain_hidden: int = 128,
                 feature_map_sizes: Sequence[int] = (32, 32, 64, 128),
                 mask_channels: Sequence[int] = (512, 64, 64, 64),
                 fg_channels: Sequence[int] = (512, 256, 128, 64),
                 bg_channels: Sequence[int] = (512, 256, 128, 64),
                 point_mlp_layers: int = 3,
                 app_mlp_layers: int = 3,
                 bg_mlp_layers: int = 3,
                 point_divisor: float = 20.0,
                 scale_type: str = 'std',
                 heatmap_type: str = 'gaussian',
                 bg_position_mode: str = 'xy',
                 grid_type: str = 'centres',
                 margin: int = 10,
                 rgb_head: str = 'conv3x3x2',
                 norm_cfg: Optional[dict] = None,
                 negative_slope: float = 0.2,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = KAIMING_LEAKY_INIT) -> None:
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        check_int(num_parts, 'num_parts', 1, hint='K >= 1')
        self.num_parts = num_parts
        self.n_per = n_per
        self.z_dim = z_dim
        self.emb_dim = emb_dim
        self.grid_type = grid_type
        self.point_generator = PointGenerator(num_parts, n_per, z_dim, emb_dim, point_mlp_layers,
                                              app_mlp_layers, point_divisor, scale_type,
                                              negative_slope)
        self.mask_generator = MaskGenerator(num_parts, n_per, emb_dim, mask_channels,
                                            feature_map_sizes, spade_hidden, heatmap_type, margin,
                                            grid_type, norm_cfg, negative_slope, with_cp)
        self.foreground_generator = ForegroundGenerator(num_parts, emb_dim, fg_channels,
                                                        feature_map_sizes, spade_hidden, margin,
                                                        grid_type, norm_cfg, negative_slope,
                                                        with_cp)
        self.background_generator = BackgroundGenerator(z_dim, emb_dim, bg_channels,
                                                        feature_map_sizes, bg_mlp_layers,
                                                        adain_hidden, bg_position_mode, margin,
                                                        grid_type, norm_cfg, negative_slope,
                                                        with_cp)
        self.negative_slope = negative_slope
        if rgb_head not in RGB_HEADS:
            raise ValueError(f'rgb_head must be one of {RGB_HEADS}, got {rgb_head!r}')
        if rgb_head == 'conv3x3x2':
            self.to_rgb = nn.Sequential(
                nn.LeakyReLU(negative_slope),
                nn.Conv2d(emb_dim, emb_dim, 3, padding=1),
                nn.LeakyReLU(negative_slope),
                nn.Conv2d(emb_dim, 3, 3, padding=1),
            )
        else:
            self.to_rgb = nn.Sequential(nn.LeakyReLU(negative_slope), nn.Conv2d(emb_dim, 3, 1))
        self.image_size = self.mask_generator.feature_map_sizes[-1]

    def mask_grid(self, device=None, dtype=torch.float32) -> Tensor:
        """(S, S, 2) (x, y) coordinates of the pixels of ``masks``/``heatmaps``/``image``."""
        return margin_grid(self.image_size, self.image_size, 0, self.grid_type, device, dtype)

    def sample_noise(self, batch_size: int, device=None) -> Dict[str, Tensor]:
        """Independent noise sources (Sec. 3.1, 3.3) from torch's global RNG."""
        return dict(
            z_point=torch.randn(batch_size, self.z_dim, device=device),
            z_app=torch.randn(batch_size, self.z_dim, device=device),
            z_bg=torch.randn(batch_size, self.z_dim, device=device),
            bg_position=torch.rand(batch_size, 2, device=device) * 2 - 1)

    def forward(self, noise: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Noise dict (:meth:`sample_noise`) -> dict of image, masks, points, ... (class doc)."""
        missing = [key for key in NOISE_KEYS if key not in noise]
        unknown = [key for key in noise if key not in NOISE_KEYS]
        if missing or unknown:
            raise KeyError(f'generator noise must have exactly the keys {NOISE_KEYS}; '
                           f'missing {missing}, unknown {unknown}')
        parts = self.point_generator(noise['z_point'], noise['z_app'])
        masks, heatmaps = self.mask_generator(parts['points'], parts['part_locations'],
                                              parts['part_scales'], parts['part_embeddings'])
        foreground = self.foreground_generator(masks, parts['part_locations'],
                                               parts['part_embeddings'])  # (B, D_emb, S, S)
        background = self.background_generator(noise['z_bg'], noise['bg_position'])
        bg_mask = masks[:, :1]  # (B, K+1, S, S) -> (B, 1, S, S)
        blended = (1 - bg_mask) * foreground + bg_mask * background  # (B, D_emb, S, S)
        image = torch.tanh(self.to_rgb(blended))  # (B, D_emb, S, S) -> (B, 3, S, S)
        return dict(
            image=image,
            masks=masks,
            heatmaps=heatmaps,
            mask_grid=self.mask_grid(masks.device, masks.dtype),
            **parts)
