from .frozen_backbone_features import FrozenBackboneFeatures

__all__ = ['FrozenBackboneFeatures']
