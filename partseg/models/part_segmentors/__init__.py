from .base_part_segmentor import BasePartSegmentor, check_num_parts
from .dispart import DisPart
from .ganseg import GANSeg

__all__ = ['BasePartSegmentor', 'check_num_parts', 'DisPart', 'GANSeg']
