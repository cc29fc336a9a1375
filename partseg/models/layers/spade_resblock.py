"""SPADE ResBlock, He et al. 2022 Eq. (6), (8) and appendix B.2 (Park et al. 2019)."""
from typing import Optional

import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from torch import Tensor, nn

from partseg.registry import MODELS
from .activation_checkpoint import check_with_cp, checkpoint_forward


class SPADE(nn.Module):
    """SPADE normalisation, He et al. 2022 appendix B.2: ``(1 + γ(F_style)) ⊗ BN(F) + β(F_style)``.

    BatchNorm without affine parameters normalises the input over batch and space; a shared 3x3 conv
    (``hidden_channels``, LeakyReLU) followed by one 3x3 conv each maps the style map to per-pixel
    γ and β (official code: hidden 128, slope 0.2). With γ = β = 0 the output is ``BN(x)``.
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
        self.conv_shared = nn.Conv2d(style_channels, hidden_channels, 3, padding=1)
        self.conv_gamma = nn.Conv2d(hidden_channels, num_features, 3, padding=1)
        self.conv_beta = nn.Conv2d(hidden_channels, num_features, 3, padding=1)
        self.negative_slope = negative_slope

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        """``x`` (B, C, H, W), ``style`` (B, S, H, W) -> (B, C, H, W)."""
        if x.shape[-2:] != style.shape[-2:]:
            raise ValueError(f'SPADE style map {tuple(style.shape[-2:])} must match the feature '
                             f'map {tuple(x.shape[-2:])}')
        hidden = F.leaky_relu(self.conv_shared(style), self.negative_slope)  # (B, hidden, H, W)
        gamma = self.conv_gamma(hidden)  # (B, C, H, W)
        beta = self.conv_beta(hidden)  # (B, C, H, W)
        return (1 + gamma) * self.norm(x) + beta


@MODELS.register_module()
class SPADEResBlock(nn.Module):
    """SPADE ResBlock, He et al. 2022 Eq. (6), (8), appendix B.2; the official code's layout.

    ``out = conv2(act(SPADE2(conv1(act(SPADE1(x)))))) + shortcut(x)`` with 3x3 convs, the middle
    width ``min(in, out)``; when ``in != out`` the shortcut is ``conv3x3(SPADE_s(x))`` (learned),
    otherwise the identity. Every SPADE is conditioned on the same style map.

    Args:
        in_channels (int): input feature channels.
        out_channels (int): output feature channels.
        style_channels (int): channels of the style (embedding) map, D_emb.
        hidden_channels (int): SPADE's shared hidden width (official: 128).
        norm_cfg (dict, optional): the parameter-free normalisation; default
            ``dict(type='BN', affine=False)`` (official; ``'SyncBN'`` for multi-GPU).
        negative_slope (float): LeakyReLU slope (official: 0.2).
        with_cp (bool): activation checkpointing in training (toolbox option, see
            :func:`checkpoint_forward`): saves memory, costs one more forward. Default False.
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
        mid_channels = min(in_channels, out_channels)
        self.spade1 = SPADE(in_channels, style_channels, hidden_channels, norm_cfg, negative_slope)
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 3, padding=1)
        self.spade2 = SPADE(mid_channels, style_channels, hidden_channels, norm_cfg, negative_slope)
        self.conv2 = nn.Conv2d(mid_channels, out_channels, 3, padding=1)
        self.learned_shortcut = in_channels != out_channels
        if self.learned_shortcut:
            self.spade_shortcut = SPADE(in_channels, style_channels, hidden_channels, norm_cfg,
                                        negative_slope)
            self.conv_shortcut = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.negative_slope = negative_slope

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        """``x`` (B, C_in, H, W), ``style`` (B, S, H, W) -> (B, C_out, H, W)."""
        return checkpoint_forward(self, self._forward, x, style)

    def _forward(self, x: Tensor, style: Tensor) -> Tensor:
        shortcut = x
        if self.learned_shortcut:
            shortcut = self.conv_shortcut(self.spade_shortcut(x, style))  # (B, C_out, H, W)
        x = self.conv1(F.leaky_relu(self.spade1(x, style), self.negative_slope))  # (B, mid, H, W)
        x = self.conv2(F.leaky_relu(self.spade2(x, style), self.negative_slope))  # (B, C_out, H, W)
        return x + shortcut
