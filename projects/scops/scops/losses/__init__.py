from .orthonormality_loss import OrthonormalityLoss
from .scops_concentration_loss import SCOPSConcentrationLoss
from .scops_equivariance_loss import SCOPSEquivarianceLoss
from .semantic_consistency_loss import SemanticConsistencyLoss

__all__ = [
    'OrthonormalityLoss', 'SCOPSConcentrationLoss', 'SCOPSEquivarianceLoss',
    'SemanticConsistencyLoss'
]
