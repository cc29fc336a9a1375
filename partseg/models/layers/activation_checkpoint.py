"""Activation checkpointing of blocks (a toolbox option: less memory, one more forward)."""
from contextlib import nullcontext
from typing import Callable, List, Tuple

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


def check_with_cp(with_cp: bool) -> bool:
    """``with_cp`` must be a bool (a string such as ``'False'`` would be truthy)."""
    if not isinstance(with_cp, bool):
        raise TypeError(f'with_cp must be True or False, got {with_cp!r}')
    return with_cp


class RestoredBuffers:
    """Context that undoes what the code inside writes into ``module``'s buffers (BN statistics).

    Reusable: a checkpointed forward is recomputed once per backward through it (again after
    ``retain_graph=True``), each time inside the same context object.
    """

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self.saved: List[Tuple[Tensor, Tensor]] = []

    def __enter__(self) -> None:
        self.saved = [(buf, buf.clone()) for buf in self.module.buffers()]

    def __exit__(self, *exc_info) -> None:
        with torch.no_grad():
            for buf, old in self.saved:
                buf.copy_(old)
        self.saved = []


def checkpoint_forward(module: nn.Module, function: Callable[..., Tensor], *inputs) -> Tensor:
    """``function(*inputs)``, activation-checkpointed when ``module.with_cp`` (toolbox option).

    Checkpointing (``torch.utils.checkpoint``, non-reentrant) keeps only the inputs and recomputes
    the forward in the backward pass: less memory, one more forward. It applies in training mode
    with gradients enabled only. The recomputation leaves the module's buffers as the first
    forward left them, so BatchNorm running statistics are updated once per forward, as without
    checkpointing.
    """
    if not (module.with_cp and module.training and torch.is_grad_enabled()):
        return function(*inputs)
    return checkpoint(
        function,
        *inputs,
        use_reentrant=False,
        context_fn=lambda: (nullcontext(), RestoredBuffers(module)))
