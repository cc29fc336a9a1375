from .part_visualization_hook import PartVisualizationHook

__all__ = ['PartVisualizationHook']
from .part_prediction_writer_hook import PartPredictionWriterHook  # noqa: E402

__all__ += ['PartPredictionWriterHook']
