"""SCOPS (Hung et al., CVPR 2019) as a partseg plugin.

Importing this package registers its modules in partseg's ``MODELS`` registry; a config loads it
with ``custom_imports = dict(imports=['projects.scops.scops'], allow_failed_imports=False)``.
The paper's features V come from partseg's shared ``VGG19Features`` (partseg.models.backbones),
the random warps from partseg's ``RandomTPS`` (partseg.models.layers).
"""
from .feature_extractors import FrozenBackboneFeatures
from .losses import (OrthonormalityLoss, SCOPSConcentrationLoss, SCOPSEquivarianceLoss,
                     SemanticConsistencyLoss)
from .scops import SCOPS

__all__ = [
    'SCOPS', 'SCOPSConcentrationLoss', 'SCOPSEquivarianceLoss', 'SemanticConsistencyLoss',
    'OrthonormalityLoss', 'FrozenBackboneFeatures'
]
