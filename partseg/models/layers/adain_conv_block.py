"""AdaIN ConvBlock, He et al. 2022 Eq. (10), appendix B.3 (Huang & Belongie 2017, with
BatchNorm)."""
from typing import Optional

import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import Tensor, nn

from partseg.registry import MODELS
from .activation_checkpoint import check_with_cp, checkpoint_forward


class AdaIN(nn.Module):
    """Adaptive normalisation, He et al. 2022 appendix B.3: ``(1 + γ(v)) ⊗ BN(F_input) + β(v)``.

    BatchNorm without affine parameters (the paper's change from InstanceNorm; give
    ``norm_cfg=dict(type='IN')`` for the original AdaIN) normalises the input; a shared linear layer
    (``hidden_channels``, LeakyReLU) followed by one linear layer each maps the style vector to
    per-channel γ and β, broadcast over space. With γ = β = 0 the output is ``BN(x)``.
    """

    def __init__(self,
                 num_features: int,
                 style_channels: int,
                 hidden_channels: int = 128,
                 norm_cfg: Optional[dict] = None,
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        norm_cfg = dict(type='BN', affine=False) if norm_cfg is None else norm_cfg
        self.norm = build_norm_layer(norm_cfg, num_features)[1]
        self.fc_shared = nn.Linear(style_channels, hidden_channels)
        self.fc_gamma = nn.Linear(hidden_channels, num_features)
        self.fc_beta = nn.Linear(hidden_channels, num_features)
        self.negative_slope = negative_slope

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        """``x`` (B, C, H, W), ``style`` (B, S) -> (B, C, H, W)."""
        hidden = F.leaky_relu(self.fc_shared(style), self.negative_slope)  # (B, hidden)
        gamma = self.fc_gamma(hidden)[:, :, None, None]  # (B, C) -> (B, C, 1, 1)
        beta = self.fc_beta(hidden)[:, :, None, None]  # (B, C) -> (B, C, 1, 1)
        return (1 + gamma) * self.norm(x) + beta


@MODELS.register_module()
class AdaINConvBlock(nn.Module):
    """AdaIN ConvBlock, He et al. 2022 Eq. (10), appendix B.3: ``conv3x3(act(AdaIN(x, v)))``.

    The official code's layout: one AdaIN, LeakyReLU, one 3x3 convolution ``in -> out``.

    Args:
        in_channels (int): input feature channels.
        out_channels (int): output feature channels.
        style_channels (int): length of the style vector, D_emb.
        hidden_channels (int): AdaIN's shared hidden width (official: 128).
        norm_cfg (dict, optional): the parameter-free normalisation; default
            ``dict(type='BN', affine=False)`` (paper and official).
        negative_slope (float): LeakyReLU slope (official: 0.2).
        with_cp (bool): activation checkpointing in training (toolbox option, see
            :func:`~partseg.models.layers.activation_checkpoint.checkpoint_forward`). Default False.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 style_channels: int,
                 hidden_channels: int = 128,
                 norm_cfg: Optional[dict] = None,
                 negative_slope: float = 0.2,
                 with_cp: bool = False) -> None:
        super().__init__()
        self.with_cp = check_with_cp(with_cp)
        self.adain = AdaIN(in_channels, style_channels, hidden_channels, norm_cfg, negative_slope)
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.negative_slope = negative_slope

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        """``x`` (B, C_in, H, W), ``style`` (B, S) -> (B, C_out, H, W)."""
        return checkpoint_forward(self, self._forward, x, style)

    def _forward(self, x: Tensor, style: Tensor) -> Tensor:
        return self.conv(F.leaky_relu(self.adain(x, style), self.negative_slope))
