from .appearance_swap_hook import AppearanceSwapHook
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .checkpoint_fit_hook import CheckpointFitHook
from .generated_grid_hook import GeneratedGridHook
from .loss_weight_schedule_hook import LossWeightScheduleHook
from .non_finite_guard_hook import NonFiniteGuardHook
from .part_prediction_writer_hook import PartPredictionWriterHook
from .part_visualization_hook import PartVisualizationHook
from .random_state_hook import RandomStateHook

__all__ = [
    'AppearanceSwapHook', 'AtomicCheckpointHook', 'CheckpointFitHook', 'GeneratedGridHook',
    'LossWeightScheduleHook', 'NonFiniteGuardHook', 'PartPredictionWriterHook',
    'PartVisualizationHook', 'RandomStateHook'
]
