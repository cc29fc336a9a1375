from .background_generator import BackgroundGenerator
from .foreground_generator import ForegroundGenerator
from .ganseg_generator import GANSegGenerator
from .mask_generator import MaskGenerator
from .point_generator import PointGenerator

__all__ = [
    'BackgroundGenerator', 'ForegroundGenerator', 'GANSegGenerator', 'MaskGenerator',
    'PointGenerator'
]
