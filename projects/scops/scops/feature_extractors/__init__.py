from .frozen_backbone_features import FrozenBackboneFeatures
from .vgg19_features import VGG19Features

__all__ = ['FrozenBackboneFeatures', 'VGG19Features']
