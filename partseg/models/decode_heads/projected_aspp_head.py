"""DeepLabV3 head with the projected ASPP of torchvision (the official GANSeg segmenter's head)."""
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads import ASPPHead

from partseg.registry import MODELS


@MODELS.register_module()
class ProjectedASPPHead(ASPPHead):
    """DeepLabV3 ASPP head (Chen et al. 2017) as torchvision's ``DeepLabHead``.

    He et al. 2022 (Sec. 3, stage 2) train a DeepLabV3 segmenter; the official code uses
    torchvision's ``deeplabv3_resnet50``, whose head fuses the ASPP branches with a 1x1
    projection (+ BN, ReLU, dropout ``project_dropout``) and then a 3x3 conv, where mmseg's
    :class:`ASPPHead` applies one 3x3 conv to the concatenated branches (about 0.5 GMAC more per
    128-px image at 256 channels). Branches, image pooling, norms and ``cls_seg`` are
    mmseg's; with ``dropout_ratio=0`` the layers are torchvision's one for one.

    Args:
        project_dropout: dropout after the 1x1 projection (torchvision: 0.5).
        **kwargs: :class:`ASPPHead` arguments (``dilations`` (1, 12, 24, 36) for torchvision's
            rates with its 1x1 branch).
    """

    def __init__(self, project_dropout: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0 <= project_dropout < 1:
            raise ValueError(f'project_dropout must be in [0, 1), got {project_dropout!r}')
        conv_kwargs = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.bottleneck = nn.Sequential(
            ConvModule((len(self.dilations) + 1) * self.channels, self.channels, 1, **conv_kwargs),
            nn.Dropout(project_dropout),
            ConvModule(self.channels, self.channels, 3, padding=1, **conv_kwargs))
