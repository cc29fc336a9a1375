"""Truncated ResNet encoders of DisPart, Liu et al. 2021 Sec. 4.1 (E_s and E_a of Eq. (1))."""
import math
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.model import BaseModule, initialize
from torch import Tensor
from torchvision.models.resnet import BasicBlock

from partseg.registry import MODELS
from partseg.utils.checks import check_int

# BasicBlocks per stage (layer1, layer2, layer3) of torchvision's ResNet-18 / ResNet-34.
STAGE_BLOCKS = {18: (2, 2, 2), 34: (3, 4, 6)}


def gaussian_init_cfg(std: float) -> list:
    """mmengine init_cfg of Liu et al. 2021 Sec. 4.1: conv/linear weights ~ N(0, std^2), BN 1/0."""
    return [
        dict(type='Normal', layer=['Conv2d', 'ConvTranspose2d', 'Linear'], std=std, bias=0),
        dict(type='Constant', layer='_BatchNorm', val=1, bias=0),
    ]


@MODELS.register_module()
class TruncatedResNet(BaseModule):
    """Truncated ResNet, Liu et al. 2021 Sec. 4.1: a BasicBlock ResNet-18/34 up to layer3.

    The stem (7x7 conv, stride 2, BN, ReLU, optional 3x3 max pool) and layer1-layer3 of
    torchvision's ResNet; layer4 and the classifier are dropped. The paper sets layer3's stride to
    1 and reports 32x32 maps from 128-px images. With torchvision's stem (max pool) and strides
    (1, 2, 1) the output stride is 8 (16x16 maps at 128 px); the paper's 32x32 needs output stride
    4, i.e. ``stem_pool=False`` with strides (1, 2, 1) (the base config). The official code's
    shipped configs give 16x16 maps at 128 px: ``stem_pool=False`` with strides (1, 2, 2).

    Args:
        depth: 18 or 34.
        strides: strides of (layer1, layer2, layer3).
        base_channels: width of the stem and layer1; layer2 and layer3 double it twice, so the
            output has ``4 * base_channels`` channels (256 for the paper's 64).
        in_channels: input image channels.
        stem_pool: keep the stem's 3x3 stride-2 max pool (torchvision); the official code drops it.
        out_channels: if set, a 1x1 conv (with bias, no activation) projects layer3's
            ``4 * base_channels`` channels to this many (a toolbox option, not in the paper: a
            small part-feature length L with a wide encoder, e.g. for CPU configs); None (the
            paper): the output is layer3's.
        init_std: std of the Gaussian init of every conv weight (Sec. 4.1: 0.01); BN weight 1,
            bias 0. ``None``: torchvision's ResNet init, Kaiming normal (fan_out, ReLU) conv
            weights, BN 1 / 0 (the official code). No pretrained weights (the paper trains from
            scratch).
        init_cfg: mmengine init config applied by ``init_weights`` (e.g. ``Pretrained``).

    Attributes:
        out_channels: channels of the output map.
        output_stride: input size / output size.
    """

    def __init__(self,
                 depth: int = 18,
                 strides: Sequence[int] = (1, 2, 1),
                 base_channels: int = 64,
                 in_channels: int = 3,
                 stem_pool: bool = True,
                 out_channels: Optional[int] = None,
                 init_std: Optional[float] = 0.01,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if depth not in STAGE_BLOCKS:
            raise ValueError(f'depth must be one of {sorted(STAGE_BLOCKS)}, got {depth!r}')
        strides = tuple(strides)
        if len(strides) != 3 or not all(isinstance(s, int) and s >= 1 for s in strides):
            raise ValueError(f'strides must be 3 positive ints (layer1, layer2, layer3), '
                             f'got {strides!r}')
        for key, value in (('base_channels', base_channels), ('in_channels', in_channels)):
            check_int(value, key, 1)
        if out_channels is not None and (isinstance(out_channels, bool)
                                         or not isinstance(out_channels, int) or out_channels <= 0):
            raise ValueError(f'out_channels must be a positive int or None, got {out_channels!r}')
        self.depth = depth
        self.strides = strides
        self.stem_pool = stem_pool
        self.out_channels = 4 * base_channels if out_channels is None else out_channels
        self.output_stride = 2 * (2 if stem_pool else 1) * math.prod(strides)

        self.conv1 = nn.Conv2d(in_channels, base_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if stem_pool else nn.Identity()
        widths = (base_channels, 2 * base_channels, 4 * base_channels)
        stages, channels = [], base_channels
        for num_blocks, width, stride in zip(STAGE_BLOCKS[depth], widths, strides):
            stages.append(self._make_stage(channels, width, num_blocks, stride))
            channels = width
        self.layer1, self.layer2, self.layer3 = stages
        self.projection = (
            nn.Identity() if out_channels is None else nn.Conv2d(4 *
                                                                 base_channels, out_channels, 1))
        if init_std is None:
            initialize(self, [
                dict(
                    type='Kaiming',
                    layer='Conv2d',
                    mode='fan_out',
                    nonlinearity='relu',
                    distribution='normal',
                    bias=0),
                dict(type='Constant', layer='_BatchNorm', val=1, bias=0)
            ])
        else:
            initialize(self, gaussian_init_cfg(init_std))

    @staticmethod
    def _make_stage(in_channels: int, channels: int, num_blocks: int, stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or in_channels != channels:
            downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(channels))
        blocks = [BasicBlock(in_channels, channels, stride=stride, downsample=downsample)]
        blocks += [BasicBlock(channels, channels) for _ in range(num_blocks - 1)]
        return nn.Sequential(*blocks)

    def forward(self, x: Tensor) -> Tensor:
        # (B, C_in, H, W) -> (B, C, H / s0, W / s0), s0 = 2 (4 with the max pool)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)  # -> (B, 4C, H / output_stride, W / output_stride)
        return self.projection(x)  # -> (B, out_channels, H / output_stride, W / output_stride)
