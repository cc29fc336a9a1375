from .truncated_resnet import TruncatedResNet
from .vgg19_features import VGG19_LAYER_ENDS, VGG19_URL, VGG19Features

__all__ = ['TruncatedResNet', 'VGG19Features', 'VGG19_LAYER_ENDS', 'VGG19_URL']
