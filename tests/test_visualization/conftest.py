"""Fresh MMEngine visualizer singletons for every visualization test."""
import pytest
from mmengine.visualization import Visualizer

from partseg.visualization import PartVisualizer


@pytest.fixture(autouse=True)
def reset_visualizers():
    for manager in (Visualizer, PartVisualizer):
        manager._instance_dict.clear()
    yield
    for manager in (Visualizer, PartVisualizer):
        manager._instance_dict.clear()
