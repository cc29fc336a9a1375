from .adain_conv_block import AdaIN, AdaINConvBlock
from .coordinate_channels import CoordinateChannels
from .part_heatmaps import PartHeatmaps, part_style_map
from .positional_encoding import (RelativePositionalEncoding, check_feature_map_sizes, check_margin,
                                  crop_margin, margin_grid, upsample_and_crop, upsample_flags)
from .random_tps import RandomTPS
from .spade_resblock import SPADE, SPADEResBlock

__all__ = [
    'AdaIN', 'AdaINConvBlock', 'CoordinateChannels', 'PartHeatmaps', 'part_style_map',
    'RelativePositionalEncoding', 'check_feature_map_sizes', 'check_margin', 'crop_margin',
    'margin_grid', 'upsample_and_crop', 'upsample_flags', 'RandomTPS', 'SPADE', 'SPADEResBlock'
]
