from .multiple_optim_wrapper_constructor import MultipleOptimWrapperConstructor

__all__ = ['MultipleOptimWrapperConstructor']
