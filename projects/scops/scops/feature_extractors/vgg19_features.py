"""VGG-19 features V of the SCOPS semantic consistency loss, Hung et al. 2019 Eq. (4)."""
import warnings
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import Tensor

from partseg.models.losses.perceptual_loss import VGG19_LAYER_ENDS
from partseg.registry import MODELS
from partseg.utils.vgg19_weights import build_vgg19_features, load_vgg19_features

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
# relu5_2 etc.: the ReLU after conv5_2, which partseg's VGG19_LAYER_ENDS calls 'conv5_2'.
_RELU_LAYERS = {
    name.replace('conv', 'relu'): end
    for name, end in VGG19_LAYER_ENDS.items() if name != 'input'
}
# Output width of each block of VGG-19 (torchvision cfg 'E').
_BLOCK_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}


@MODELS.register_module()
class VGG19Features(BaseModule):
    """VGG-19 feature map V of Hung et al. 2019 (SCOPS) Eq. (4): a frozen ImageNet VGG-19 layer.

    Runs torchvision's VGG-19 ``features`` up to the ReLU after ``layer`` on images in [0, 1]
    (normalised with the ImageNet mean/std inside) and returns (B, D, H/s, W/s). The weights are
    frozen and the network always stays in eval mode.

    Args:
        layer: ``'reluB_I'``, the ReLU after VGG-19's conv B_I (SCOPS: ``'relu5_2'``, D = 512).
        pretrained: local path or http(s) URL of a torchvision VGG-19 ``state_dict`` (keys
            ``features.*``). ``None`` keeps a random VGG (with a warning): the semantic
            consistency loss then sees untrained features.
        init_cfg: mmengine init config (the pretrained weights are reloaded after it).

    Attributes:
        out_channels: D.
    """

    def __init__(self,
                 layer: str = 'relu5_2',
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if layer not in _RELU_LAYERS:
            raise ValueError(f'VGG19Features: unknown layer {layer!r}; choose from '
                             f'{", ".join(_RELU_LAYERS)}')
        self.layer = layer
        self.pretrained = pretrained
        self.out_channels = _BLOCK_CHANNELS[int(layer[4])]
        self.vgg = build_vgg19_features(_RELU_LAYERS[layer])
        self.vgg.requires_grad_(False)
        self.vgg.eval()
        self.register_buffer('mean', torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer('std', torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), False)
        if pretrained is None:
            warnings.warn('VGG19Features: pretrained=None, the VGG-19 is randomly initialised')
        else:
            self._load_pretrained()

    def _load_pretrained(self) -> None:
        load_vgg19_features(self.vgg, self.pretrained, 'VGG19Features')

    def init_weights(self) -> None:
        """Reload the pretrained weights, so no parent ``init_cfg`` can overwrite them."""
        super().init_weights()
        if self.pretrained is not None:
            self._load_pretrained()

    def train(self, mode: bool = True) -> 'VGG19Features':
        super().train(mode)
        self.vgg.eval()
        return self

    def forward(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> (B, D, H/s, W/s) features."""
        return self.vgg((images - self.mean) / self.std)
