from .generated_grid_hook import GeneratedGridHook
from .part_prediction_writer_hook import PartPredictionWriterHook
from .part_visualization_hook import PartVisualizationHook
from .random_state_hook import RandomStateHook

__all__ = [
    'GeneratedGridHook', 'PartPredictionWriterHook', 'PartVisualizationHook', 'RandomStateHook'
]
