"""Full-precision regions inside mixed-precision training (``torch.autocast``).

Under autocast the convolutions and matrix products run in bf16 / fp16; the few computations whose
accuracy matters more than their cost run in fp32 instead: every loss (sums over many pixels,
small differences such as the gradient penalty's ``(‖∇D‖ - 1)²``), the GANSeg point MLP and
positional encodings (coordinates and the phases of sin / cos), the softmax of part maps.
Without autocast every helper here is an exact no-op (the same tensors are passed on).
"""
import functools
from typing import Any, Callable, Optional

import torch

__all__ = ['autocast_device_type', 'to_full_precision', 'full_precision_forward', 'full_precision']


def autocast_device_type(*values: Any) -> Optional[str]:
    """The device type of the first tensor in ``values`` (searched through lists, tuples and
    dicts) when autocast is on for it, else None."""
    stack = list(values)
    while stack:
        value = stack.pop(0)
        if isinstance(value, torch.Tensor):
            device_type = value.device.type
            return device_type if torch.is_autocast_enabled(device_type) else None
        if isinstance(value, (list, tuple)):
            stack[:0] = list(value)
        elif isinstance(value, dict):
            stack[:0] = list(value.values())
    return None


def to_full_precision(value: Any) -> Any:
    """``value`` with every bf16 / fp16 tensor cast to fp32 (through lists, tuples, dicts);
    other values and fp32 tensors are returned as they are."""
    if isinstance(value, torch.Tensor):
        return value.float() if value.dtype in (torch.float16, torch.bfloat16) else value
    if isinstance(value, (list, tuple)) and not hasattr(value, '_fields'):
        return type(value)(to_full_precision(v) for v in value)
    if isinstance(value, dict):
        return type(value)((k, to_full_precision(v)) for k, v in value.items())
    return value


def full_precision(device_type: str):
    """Context that switches autocast off for ``device_type`` ('cpu', 'cuda', ...)."""
    return torch.autocast(device_type, enabled=False)


def full_precision_forward(forward: Callable) -> Callable:
    """Decorator of a ``forward(self, *args, **kwargs)``: under autocast it runs with autocast
    off and its bf16 / fp16 tensor arguments cast to fp32; otherwise it is called unchanged."""

    @functools.wraps(forward)
    def wrapper(self, *args, **kwargs):
        device_type = autocast_device_type(args, kwargs)
        if device_type is None:
            return forward(self, *args, **kwargs)
        with full_precision(device_type):
            return forward(self, *to_full_precision(args), **to_full_precision(kwargs))

    wrapper.full_precision = True
    return wrapper
