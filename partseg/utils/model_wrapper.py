"""The model inside a model wrapper (DataParallel, DDP, MMEngine's (separate) DDP wrappers)."""
from mmengine.model import is_model_wrapper
from torch import nn

__all__ = ['unwrap']


def unwrap(module: nn.Module) -> nn.Module:
    """``module.module`` when ``module`` is a wrapper registered in MMEngine's
    ``MODEL_WRAPPERS``, else ``module`` itself (one level: wrappers are not nested)."""
    return module.module if is_model_wrapper(module) else module
