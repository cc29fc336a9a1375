"""Image decoder D of DisPart, Liu et al. 2021 Eq. (4), Sec. 4.1 and appendix A.3."""
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.model import BaseModule, initialize
from torch import Tensor

from partseg.models.backbones.truncated_resnet import gaussian_init_cfg
from partseg.registry import MODELS
from partseg.utils.checks import check_int


@MODELS.register_module()
class DisPartDecoder(BaseModule):
    """DisPart decoder, Liu et al. 2021 Eq. (4): x_hat = D(A~), seven conv blocks and a 3x3 conv.

    Block ``i`` is a conv + BN + ReLU with ``channels[i]`` outputs: a 4x4 transposed conv (stride 2,
    padding 1: doubles H and W) where ``i`` is in ``upsample_blocks``, a 3x3 conv (padding 1;
    ``kernel_size``) elsewhere. A final conv of the same kernel maps to ``out_channels`` with no
    activation (the images it reconstructs are the normalised network inputs). The paper
    upsamples in the second and fourth blocks (``(1, 3)``, x4, for its 32x32 maps at 128 px); the
    official code's 16x16 maps (encoder output stride 8) add the sixth block (``(1, 3, 5)``, x8).
    The default widths are the official ``h_channel=32`` ones (8h, 8h, 4h, 4h, 2h, 2h, h).

    Args:
        in_channels: input channels, ``L + 2`` (appearance features and the two coordinate
            channels of appendix A.3).
        channels: output channels of each block; its length is the number of blocks.
        out_channels: output image channels.
        upsample_blocks: zero-based indices of the blocks that upsample x2.
        kernel_size: kernel of the other blocks' convs and of the final conv (paper: 3). With 1
            each output pixel sees only the rendered features of the nearest map cells (the
            transposed convs' 2x2 windows), so the decoder cannot paint a region's inside from
            its surroundings (an option of this toolbox).
        init_std: std of the Gaussian init of every conv weight (Sec. 4.1: 0.01); BN weight 1,
            bias 0. ``None`` keeps PyTorch's default init of each layer (the official code).
        init_cfg: mmengine init config applied by ``init_weights``.

    Attributes:
        upsample_factor: output size / input size, ``2 ** len(upsample_blocks)``.
    """

    def __init__(self,
                 in_channels: int = 258,
                 channels: Sequence[int] = (256, 256, 128, 128, 64, 64, 32),
                 out_channels: int = 3,
                 upsample_blocks: Sequence[int] = (1, 3),
                 kernel_size: int = 3,
                 init_std: Optional[float] = 0.01,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        channels = tuple(channels)
        upsample_blocks = tuple(upsample_blocks)
        for key, value in (('in_channels', in_channels), ('out_channels', out_channels)):
            check_int(value, key, 1)
        if not channels or not all(isinstance(c, int) and c > 0 for c in channels):
            raise ValueError(f'channels must be a non-empty sequence of positive ints, '
                             f'got {channels!r}')
        if (len(set(upsample_blocks)) != len(upsample_blocks)
                or not all(isinstance(i, int) and 0 <= i < len(channels) for i in upsample_blocks)):
            raise ValueError(f'upsample_blocks must be distinct block indices in '
                             f'[0, {len(channels)}), got {upsample_blocks!r}')
        if isinstance(kernel_size,
                      bool) or not isinstance(kernel_size, int) or (kernel_size <= 0
                                                                    or kernel_size % 2 == 0):
            raise ValueError(f'kernel_size must be a positive odd int, got {kernel_size!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.upsample_blocks = upsample_blocks
        self.upsample_factor = 2**len(upsample_blocks)

        blocks, prev = [], in_channels
        for index, width in enumerate(channels):
            if index in upsample_blocks:
                conv = nn.ConvTranspose2d(prev, width, 4, stride=2, padding=1)
            else:
                conv = nn.Conv2d(prev, width, kernel_size, padding=kernel_size // 2)
            blocks.append(nn.Sequential(conv, nn.BatchNorm2d(width), nn.ReLU(inplace=True)))
            prev = width
        self.blocks = nn.Sequential(*blocks)
        self.final_conv = nn.Conv2d(prev, out_channels, kernel_size, padding=kernel_size // 2)
        if init_std is not None:
            initialize(self, gaussian_init_cfg(init_std))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'DisPartDecoder expects (B, {self.in_channels}, h, w) inputs '
                             f'(in_channels), got {tuple(x.shape)}')
        x = self.blocks(x)  # (B, L+2, h, w) -> (B, channels[-1], h * f, w * f), f = upsample_factor
        return self.final_conv(x)  # -> (B, out_channels, h * f, w * f)
