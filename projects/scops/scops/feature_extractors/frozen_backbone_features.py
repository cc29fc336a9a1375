"""A random, frozen backbone as the feature map V of SCOPS, Hung et al. 2019 Eq. (4)."""
from typing import Optional

from mmengine.model import BaseModule
from torch import Tensor

from partseg.registry import MODELS


@MODELS.register_module()
class FrozenBackboneFeatures(BaseModule):
    """Feature map V of Hung et al. 2019 (SCOPS) Eq. (4) from any backbone, frozen as built.

    A stand-in for the paper's ImageNet VGG-19 where no pretrained weights are at hand: the
    backbone (e.g. partseg's ``TruncatedResNet``) is built with its own random initialisation
    (drawn from torch's RNG, so the run's seed fixes it), then frozen and kept in eval mode. Its
    weights are part of the model's state dict, so a checkpoint carries them. Random conv features
    still respond to local colour and texture, which is what the semantic consistency loss groups.

    Args:
        backbone: config of a registered backbone exposing ``out_channels``.
        init_cfg: mmengine init config.

    Attributes:
        out_channels: D, the backbone's output channels.
    """

    def __init__(self, backbone: dict, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        if not hasattr(self.backbone, 'out_channels'):
            raise TypeError(f'FrozenBackboneFeatures: backbone ({type(self.backbone).__name__}) '
                            f'must expose out_channels, as TruncatedResNet does')
        self.out_channels = self.backbone.out_channels
        self.backbone.requires_grad_(False)
        self.backbone.eval()

    def init_weights(self) -> None:
        """Keep the weights drawn at construction (the backbone is never re-initialised)."""

    def train(self, mode: bool = True) -> 'FrozenBackboneFeatures':
        super().train(mode)
        self.backbone.eval()
        return self

    def forward(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> (B, D, h, w) features."""
        return self.backbone(images)
