"""Evaluation: landmark regression, foreground IoU and NMI/ARI metrics (see ``metrics``)."""
from .metrics import ForegroundIoUMetric, LandmarkRegressionMetric, PartNMIARIMetric

__all__ = ['ForegroundIoUMetric', 'LandmarkRegressionMetric', 'PartNMIARIMetric']
