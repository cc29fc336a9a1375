"""Models: importing this registers every partseg model component in ``partseg.registry.MODELS``."""
from . import (backbones, bottlenecks, data_preprocessors, decode_heads, decoders, discriminators,
               generators, layers, losses, part_segmentors)

__all__ = [
    'backbones', 'bottlenecks', 'data_preprocessors', 'decode_heads', 'decoders', 'discriminators',
    'generators', 'layers', 'losses', 'part_segmentors'
]
