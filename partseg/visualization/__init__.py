from .part_visualizer import PART_COLORS, PartVisualizer, part_palette

__all__ = ['PART_COLORS', 'PartVisualizer', 'part_palette']
