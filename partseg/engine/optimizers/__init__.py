from .autocast_optim_wrapper import AutocastOptimWrapper
from .multiple_optim_wrapper_constructor import MultipleOptimWrapperConstructor

__all__ = ['AutocastOptimWrapper', 'MultipleOptimWrapperConstructor']
