"""torchvision VGG-19 ``features`` trunks: build (random init) and load pretrained weights."""
import os

import torch
from torch import nn
from torchvision.models.vgg import cfgs as vgg_cfgs
from torchvision.models.vgg import make_layers

__all__ = ['build_vgg19_features', 'load_vgg19_features']


def build_vgg19_features(end: int) -> nn.Sequential:
    """torchvision's VGG-19 ``features[:end]`` with torchvision's random initialisation."""
    features = make_layers(vgg_cfgs['E'])[:end]
    for module in features.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode='fan_out', nonlinearity='relu')
            nn.init.zeros_(module.bias)
    return features


def load_vgg19_features(features: nn.Sequential, path: str, owner: str) -> None:
    """Load the ``features.*`` entries of a torchvision VGG-19 state_dict (a local file or an
    http(s) URL, read with ``weights_only=True``) into the truncated trunk ``features``.

    Errors are one line that starts with ``owner`` and names ``path``.
    """
    if path.startswith(('http://', 'https://')):
        state = torch.hub.load_state_dict_from_url(path, map_location='cpu', weights_only=True)
    else:
        if not os.path.isfile(path):
            raise FileNotFoundError(f'{owner}: pretrained VGG-19 file not found: {path}')
        state = torch.load(path, map_location='cpu', weights_only=True)
    if not isinstance(state, dict):
        raise TypeError(f'{owner}: {path} does not hold a state_dict')
    subset = {}
    for key, value in features.state_dict().items():
        source = f'features.{key}'
        if source not in state:
            raise KeyError(f'{owner}: {path} lacks {source!r} of a torchvision vgg19 state_dict')
        if tuple(state[source].shape) != tuple(value.shape):
            raise ValueError(f'{owner}: {path} has {source!r} of shape '
                             f'{tuple(state[source].shape)}, expected {tuple(value.shape)}')
        subset[key] = state[source]
    features.load_state_dict(subset)
