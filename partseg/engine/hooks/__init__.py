from .part_visualization_hook import PartVisualizationHook

__all__ = ['PartVisualizationHook']
