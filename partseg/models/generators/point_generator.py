"""Point generator (level 1), He et al. 2022 Eq. (1)-(3)."""
from typing import Dict

import torch
from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.precision import full_precision_forward

SCALE_TYPES = ('std', 'mean_abs')


def build_mlp(in_features: int,
              hidden_features: int,
              out_features: int,
              num_layers: int,
              negative_slope: float = 0.2) -> nn.Sequential:
    """``num_layers`` linear layers, LeakyReLU between them, none after the last."""
    if num_layers < 1:
        raise ValueError(f'an MLP needs at least one layer, got num_layers={num_layers!r}')
    layers = []
    width = in_features
    for _ in range(num_layers - 1):
        layers += [nn.Linear(width, hidden_features), nn.LeakyReLU(negative_slope)]
        width = hidden_features
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


@MODELS.register_module()
class PointGenerator(nn.Module):
    """Point generator, He et al. 2022 Eq. (1)-(3): points, part locations and scales, embeddings.

    ``z_point -> MLP -> n_per·K points`` squashed by ``tanh(· / point_divisor)`` (official code;
    the paper does not say how points are bounded) into [-1, 1] (x, y). Part location = mean of
    its n_per points (Eq. 1); part scale is

    - ``scale_type='std'`` (paper Eq. 1): ``σ_k = sqrt(Σ_i ‖x_k^i - x_k‖² / (n_per - 1))``;
    - ``scale_type='mean_abs'`` (official): ``τ_k = mean_{i,c} |x_k^{i,c} - x_k^c|``, the mean
      absolute coordinate offset over the n_per points and both axes.

    Independently (Eq. 2-3), ``z_app -> MLP -> w_dynamic`` and ``w_k = w_dynamic ⊙ w_k^const``
    with a learned constant per part (initialised N(0, 1) like the official ``nn.Embedding``).

    Args:
        num_parts (int): K.
        n_per (int): points per part (paper: 4), at least 2.
        z_dim (int): noise dimension, also the MLPs' hidden width (official: 256).
        emb_dim (int): part embedding dimension D_emb (official: 64).
        point_mlp_layers (int): linear layers of MLP_point (paper: 3; official: 5).
        app_mlp_layers (int): linear layers of MLP_app (paper: 3; official: 4).
        point_divisor (float): divides the MLP output before tanh (official: 20).
        scale_type (str): ``'std'`` (paper) or ``'mean_abs'`` (official).
        negative_slope (float): LeakyReLU slope (official: 0.2).
    """

    def __init__(self,
                 num_parts: int,
                 n_per: int = 4,
                 z_dim: int = 256,
                 emb_dim: int = 64,
                 point_mlp_layers: int = 3,
                 app_mlp_layers: int = 3,
                 point_divisor: float = 20.0,
                 scale_type: str = 'std',
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        if num_parts < 1:
            raise ValueError(f'num_parts must be >= 1, got {num_parts!r}')
        if n_per < 2:
            raise ValueError(f'n_per must be >= 2 (a part scale needs two points), got {n_per!r}')
        if scale_type not in SCALE_TYPES:
            raise ValueError(f'scale_type must be one of {SCALE_TYPES}, got {scale_type!r}')
        if point_divisor <= 0:
            raise ValueError(f'point_divisor must be positive, got {point_divisor!r}')
        self.num_parts = num_parts
        self.n_per = n_per
        self.z_dim = z_dim
        self.emb_dim = emb_dim
        self.point_divisor = point_divisor
        self.scale_type = scale_type
        self.point_mlp = build_mlp(z_dim, z_dim, num_parts * n_per * 2, point_mlp_layers,
                                   negative_slope)
        self.app_mlp = build_mlp(z_dim, z_dim, emb_dim, app_mlp_layers, negative_slope)
        self.part_constants = nn.Parameter(torch.randn(num_parts, emb_dim))

    def part_scales(self, points: Tensor, locations: Tensor) -> Tensor:
        """``points`` (B, K, n_per, 2), ``locations`` (B, K, 2) -> part scales (B, K)."""
        offsets = points - locations[:, :, None]  # (B, K, n_per, 2)
        if self.scale_type == 'std':
            # vector_norm has a zero-safe gradient when all points of a part coincide
            return torch.linalg.vector_norm(offsets, dim=(2, 3)) / (self.n_per - 1)**0.5
        # summed in the official (y, x) order: its τ_k bitwise in fp32
        return offsets.flip(-1).abs().mean((2, 3))  # (B, K, n_per, 2) -> (B, K)

    @full_precision_forward  # coordinates in fp32 also under autocast (two small MLPs)
    def forward(self, z_point: Tensor, z_app: Tensor) -> Dict[str, Tensor]:
        """``z_point``, ``z_app`` (B, z_dim) -> dict of ``points`` (B, K, n_per, 2),
        ``part_locations`` (B, K, 2), ``part_scales`` (B, K), ``part_embeddings`` (B, K, D_emb)."""
        raw = self.point_mlp(z_point)  # (B, K·n_per·2)
        points = torch.tanh(raw / self.point_divisor).view(-1, self.num_parts, self.n_per, 2)
        locations = points.mean(2)  # (B, K, n_per, 2) -> (B, K, 2)
        w_dynamic = self.app_mlp(z_app)  # (B, D_emb)
        embeddings = w_dynamic[:, None, :] * self.part_constants[None]  # (B, K, D_emb)
        return dict(
            points=points,
            part_locations=locations,
            part_scales=self.part_scales(points, locations),
            part_embeddings=embeddings)
