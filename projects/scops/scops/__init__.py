"""SCOPS (Hung et al., CVPR 2019) as a partseg plugin.

Importing this package registers its modules in partseg's ``MODELS`` registry; a config loads it
with ``custom_imports = dict(imports=['projects.scops.scops'], allow_failed_imports=False)``.
"""
from .feature_extractors import FrozenBackboneFeatures, VGG19Features
from .losses import (OrthonormalityLoss, SCOPSConcentrationLoss, SCOPSEquivarianceLoss,
                     SemanticConsistencyLoss)
from .scops import SCOPS

__all__ = [
    'SCOPS', 'SCOPSConcentrationLoss', 'SCOPSEquivarianceLoss', 'SemanticConsistencyLoss',
    'OrthonormalityLoss', 'VGG19Features', 'FrozenBackboneFeatures'
]
