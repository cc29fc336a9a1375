"""Residual discriminator D of He et al. 2022 Eq. (14), (18) (architecture of the official code)."""
import copy
import math
from typing import Optional, Sequence

from mmengine.model import BaseModule
from torch import Tensor, nn

from partseg.registry import MODELS

KAIMING_LEAKY_INIT = dict(
    type='Kaiming',
    layer=['Conv2d', 'Linear'],
    a=0.2,
    mode='fan_in',
    nonlinearity='leaky_relu',
    distribution='normal',
    bias=0)


class ResidualDownBlock(nn.Module):
    """One downsampling residual block: ``(main(x) + conv1x1_s2(x)) / √2``, no normalisation.

    ``main = conv3x3 -> act -> conv3x3 -> act -> conv3x3 stride 2`` (official code).
    """

    def __init__(self, in_channels: int, out_channels: int, negative_slope: float = 0.2) -> None:
        super().__init__()
        self.residual = nn.Conv2d(in_channels, out_channels, 1, stride=2)
        self.main = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1),
            nn.LeakyReLU(negative_slope),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
            nn.LeakyReLU(negative_slope),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, stride=2),
        )

    def forward(self, x: Tensor) -> Tensor:
        """(B, C_in, H, W) -> (B, C_out, H/2, W/2)."""
        return (self.main(x) + self.residual(x)) / math.sqrt(2)


@MODELS.register_module()
class GANSegDiscriminator(BaseModule):
    """Residual discriminator D of He et al. 2022 Eq. (14), (18); the official architecture.

    Downsampling residual blocks without normalisation (``(x + res) / √2``, LeakyReLU 0.2), then
    flatten and a two-layer MLP to one logit. Official: 6 blocks 3 -> 64 -> 128 -> 256 -> 512 ->
    512 -> 512 at 128 px (2 x 2 x 512 = 2048 features), FC 2048 -> 512 -> 1.

    Args:
        in_channels (int): image channels.
        channels (Sequence[int]): output channels of each block (each halves the resolution).
        image_size (int): input height = width; must be divisible by 2^len(channels).
        fc_channels (int): hidden width of the final MLP.
        negative_slope (float): LeakyReLU slope.
        init_cfg (dict, optional): weight init run by ``init_weights()`` (default: the official
            Kaiming-normal init, a = 0.2, zero biases); None keeps PyTorch's default init.
    """

    def __init__(self,
                 in_channels: int = 3,
                 channels: Sequence[int] = (64, 128, 256, 512, 512, 512),
                 image_size: int = 128,
                 fc_channels: int = 512,
                 negative_slope: float = 0.2,
                 init_cfg: Optional[dict] = KAIMING_LEAKY_INIT) -> None:
        super().__init__(init_cfg=copy.deepcopy(init_cfg))
        channels = tuple(channels)
        if not channels:
            raise ValueError('discriminator channels must list at least one block')
        factor = 2**len(channels)
        if image_size % factor:
            raise ValueError(f'discriminator image_size {image_size} must be divisible by '
                             f'2^{len(channels)} = {factor} (one halving per block)')
        self.image_size = image_size
        ins = (in_channels, ) + channels[:-1]
        self.blocks = nn.Sequential(*(ResidualDownBlock(c_in, c_out, negative_slope)
                                      for c_in, c_out in zip(ins, channels)))
        final_size = image_size // factor
        self.head = nn.Sequential(
            nn.Linear(channels[-1] * final_size * final_size, fc_channels),
            nn.LeakyReLU(negative_slope),
            nn.Linear(fc_channels, 1),
        )

    def forward(self, images: Tensor) -> Tensor:
        """``images`` (B, 3, H, W) with H = W = image_size -> logits (B, 1)."""
        if images.shape[-2:] != (self.image_size, self.image_size):
            raise ValueError(f'discriminator expects {self.image_size}x{self.image_size} '
                             f'images, got {tuple(images.shape[-2:])}')
        features = self.blocks(images)  # (B, 3, H, W) -> (B, C, H/2^n, W/2^n)
        return self.head(features.flatten(1))  # (B, C·h·w) -> (B, 1)
