"""Frozen ImageNet VGG-19 feature extractor (Simonyan & Zisserman 2015), shared by every method."""
import warnings
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import Sequential
from torch import Tensor, nn
from torchvision.models.vgg import cfgs as vgg_cfgs
from torchvision.models.vgg import make_layers

from partseg.registry import MODELS
from partseg.utils.pretrained_weights import load_pretrained_state_dict

__all__ = ['VGG19Features', 'VGG19_LAYER_ENDS', 'VGG19_URL']

#: torchvision's ImageNet VGG-19 (``VGG19_Weights.IMAGENET1K_V1``).
VGG19_URL = 'https://download.pytorch.org/models/vgg19-dcbb9e9d.pth'
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _vgg19_layer_ends() -> Dict[str, int]:
    """Map ``'input'`` and every ``'reluB_I'`` (the ReLU after VGG-19's conv B_I) to the end
    index of its slice of ``torchvision.models.vgg19().features``: the feature is
    ``features[:end](x)``."""
    ends = {'input': 0}
    index, block, conv = 0, 1, 0
    for item in vgg_cfgs['E']:
        if item == 'M':
            index += 1  # max-pool
            block, conv = block + 1, 0
        else:
            conv += 1
            index += 2  # conv + ReLU
            ends[f'relu{block}_{conv}'] = index
    return ends


VGG19_LAYER_ENDS = _vgg19_layer_ends()
# Output width of each block of VGG-19 (torchvision cfg 'E').
_BLOCK_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}


@MODELS.register_module()
class VGG19Features(Sequential):
    """Frozen VGG-19 features, Simonyan & Zisserman 2015 (configuration E), torchvision's layout.

    The modules are torchvision's ``vgg19().features`` up to the deepest requested layer (nothing
    deeper is built), so the state dict keys are ``<index>.weight`` / ``<index>.bias`` as in
    torchvision's ``features``. ``forward`` takes RGB images in [0, 1], normalises them with the
    ImageNet mean / std and returns the requested layers: ``'input'`` (the normalised image) or
    ``'reluB_I'`` (the output of the ReLU after conv B_I). The weights are frozen and the network
    stays in eval mode.

    Pretrained weights are read in :meth:`init_weights` (the runner calls it when training starts),
    never when the module is built: building works offline. A URL is looked up in torch's hub cache
    first; weights that are neither there nor downloadable raise a one-line
    :class:`~partseg.utils.pretrained_weights.MissingPretrainedWeightsError`.

    Args:
        layers: one layer name (``forward`` returns a tensor) or a sequence of names (a list of
            tensors in that order). SCOPS uses ``'relu5_2'``; the DisPart perceptual loss
            ``('input', 'relu1_2', 'relu2_2', 'relu3_2', 'relu4_2', 'relu5_2')``.
        pretrained: local path or http(s) URL of a torchvision VGG-19 ``state_dict`` (keys
            ``features.*``, other keys ignored), e.g. :data:`VGG19_URL`. ``None`` keeps
            torchvision's random initialisation (with a warning): untrained features.
        init_cfg: MMEngine init config, applied before the pretrained weights are loaded.

    Attributes:
        out_channels: channels of the (last) requested layer (3 for ``'input'``).
    """

    def __init__(self,
                 layers: Union[str, Sequence[str]] = 'relu5_2',
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        names = (layers, ) if isinstance(layers, str) else tuple(layers)
        if not names:
            raise ValueError('VGG19Features: layers must name at least one VGG-19 layer')
        unknown = [name for name in names if name not in VGG19_LAYER_ENDS]
        if unknown:
            raise ValueError(f'VGG19Features: unknown layer {unknown[0]!r}; choose from '
                             f'{", ".join(VGG19_LAYER_ENDS)}')
        if len(set(names)) != len(names):
            raise ValueError(f'VGG19Features: layers repeat a name: {names}')
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'VGG19Features: pretrained must be a path, a URL or None, got '
                            f'{pretrained!r}')
        ends = [VGG19_LAYER_ENDS[name] for name in names]
        features = make_layers(vgg_cfgs['E'])[:max(ends)]
        for module in features.modules():  # torchvision's VGG initialisation
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode='fan_out', nonlinearity='relu')
                nn.init.zeros_(module.bias)
        super().__init__(*features, init_cfg=init_cfg)
        self._ends = ends
        self.layers = names
        self.single = isinstance(layers, str)
        self.pretrained = pretrained
        last = names[-1]
        self.out_channels = 3 if last == 'input' else _BLOCK_CHANNELS[int(last[4])]
        self.register_buffer(
            'mean', torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()
        if pretrained is None:
            warnings.warn('VGG19Features: pretrained=None, the VGG-19 is randomly initialised and '
                          'its features are untrained')

    def init_weights(self) -> None:
        """Apply ``init_cfg``, then load the ``pretrained`` VGG-19 (nothing is read at build)."""
        super().init_weights()
        if self.pretrained is not None:
            self.load_pretrained()

    def load_pretrained(self) -> None:
        """Load the ``features.*`` entries of the ``pretrained`` torchvision VGG-19 state_dict.

        Errors are one line naming the file (and, for a missing file, the config key to set).
        """
        path = self.pretrained
        state = load_pretrained_state_dict(path, self, 'VGG-19', VGG19_URL)
        if isinstance(state, dict) and 'state_dict' in state and 'features.0.weight' not in state:
            state = state['state_dict']
        if not isinstance(state, dict):
            raise TypeError(f'VGG19Features: {path} does not hold a state_dict')
        subset = {}
        for key, value in self.state_dict().items():
            source = f'features.{key}'
            if source not in state:
                raise KeyError(f'VGG19Features: {path} lacks {source!r} of a torchvision vgg19 '
                               f'state_dict')
            if tuple(state[source].shape) != tuple(value.shape):
                raise ValueError(f'VGG19Features: {path} has {source!r} of shape '
                                 f'{tuple(state[source].shape)}, expected {tuple(value.shape)}')
            subset[key] = state[source]
        self.load_state_dict(subset)

    def train(self, mode: bool = True) -> 'VGG19Features':
        """The VGG stays in eval mode (frozen features)."""
        return super().train(False)

    def forward(self, images: Tensor) -> Union[Tensor, List[Tensor]]:
        """(B, 3, H, W) RGB in [0, 1] -> the requested layers' (B, C_l, H_l, W_l) features."""
        x = (images - self.mean) / self.std
        by_end = {0: x}
        wanted = set(self._ends)
        for index, layer in enumerate(self):
            x = layer(x)
            if index + 1 in wanted:
                by_end[index + 1] = x
        features = [by_end[end] for end in self._ends]
        return features[0] if self.single else features
