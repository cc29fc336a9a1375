"""Mixed precision without loss scaling: the forward pass under ``torch.autocast`` on any device."""
from contextlib import contextmanager
from typing import Optional

import torch
from mmengine.optim import OptimWrapper
from torch import nn
from torch.optim import Optimizer

from partseg.registry import OPTIM_WRAPPERS

DTYPES = dict(bfloat16=torch.bfloat16, float16=torch.float16)


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An :class:`~mmengine.optim.OptimWrapper` whose ``optim_context`` runs the forward pass
    under ``torch.autocast(device_type, dtype)``.

    MMEngine's ``AmpOptimWrapper`` adds a loss scaler and accepts GPUs (and NPU / MLU / MUSA)
    only; bf16 has fp32's exponent range, so it needs no scaler, and this wrapper brings it to
    CPUs (``tools/train.py --amp`` on a machine without CUDA). On a CPU with native bf16
    (AVX-512-BF16 or AMX) the DisPart and GANSeg paper models trained about 2x faster per
    iteration (docs/benchmarks.md); without it bf16 is emulated and slower than fp32. Losses,
    the GANSeg gradient penalty, point coordinates, positional encodings and part-map softmaxes
    stay in fp32 (``partseg.utils.precision``), as do parameters, gradients and optimizer
    states.

    Args:
        optimizer, accumulative_counts, clip_grad: as ``OptimWrapper``'s.
        dtype (str): ``'bfloat16'`` (default) or ``'float16'`` (fp16 without a scaler may
            underflow small gradients; use ``AmpOptimWrapper`` for fp16 on GPUs).
        device_type (str, optional): autocast's device type; default: that of the model's first
            parameter.
    """

    def __init__(self,
                 optimizer: Optimizer,
                 accumulative_counts: int = 1,
                 clip_grad: Optional[dict] = None,
                 dtype: str = 'bfloat16',
                 device_type: Optional[str] = None) -> None:
        if dtype not in DTYPES:
            raise ValueError(f'AutocastOptimWrapper: dtype must be one of {tuple(DTYPES)}, got '
                             f'{dtype!r}')
        super().__init__(optimizer, accumulative_counts, clip_grad)
        self.cast_dtype = DTYPES[dtype]
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model: nn.Module):
        """MMEngine's context (gradient accumulation without DDP sync), then autocast."""
        device_type = self.device_type
        if device_type is None:
            first = next(model.parameters(), None)
            device_type = first.device.type if first is not None else 'cpu'
        with super().optim_context(model), torch.autocast(device_type, dtype=self.cast_dtype):
            yield
