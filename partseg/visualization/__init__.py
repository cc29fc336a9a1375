from .palette import PART_COLORS, part_palette
from .part_visualizer import PartVisualizer

__all__ = ['PART_COLORS', 'PartVisualizer', 'part_palette']
