"""NonFiniteGuardHook: a NaN / Inf loss or gradient never reaches the weights or a checkpoint."""
import logging
import math
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

from partseg.registry import HOOKS

__all__ = ['NonFiniteGuardHook', 'GUARD_ATTRIBUTE']

ACTIONS = ('stop', 'skip')
#: Attribute set on every optimizer wrapper the hook guards (a model that checks its losses
#: itself, like GANSeg, leaves the decision to the hook when it is present).
GUARD_ATTRIBUTE = 'non_finite_guard'


class _StepGuard:
    """Wraps one optimizer wrapper's ``backward`` and ``step`` (instance attributes shadowing the
    class methods): a non-finite loss given to ``backward``, or a non-finite gradient found at
    ``step``, makes that ``step`` a no-op and is recorded in ``events``."""

    def __init__(self, name: str, wrapper: OptimWrapper, param_names: Dict[int, str],
                 events: List[Tuple[str, str]]) -> None:
        self.name = name
        self.wrapper = wrapper
        self.param_names = param_names
        self.events = events
        self.loss_problem: Optional[str] = None
        self._backward: Callable = wrapper.backward
        self._step: Callable = wrapper.step
        wrapper.backward = self.backward
        wrapper.step = self.step
        setattr(wrapper, GUARD_ATTRIBUTE, self)

    def remove(self) -> None:
        for attribute in ('backward', 'step', GUARD_ATTRIBUTE):
            self.wrapper.__dict__.pop(attribute, None)

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        # always back-propagate: under DDP every rank must take part in the gradient all-reduce
        if self.loss_problem is None and not bool(torch.isfinite(loss.detach()).all()):
            self.loss_problem = f'the {self.name} loss is {loss.detach().float().sum().item()}'
        self._backward(loss, **kwargs)

    def step(self, **kwargs) -> None:
        problem, self.loss_problem = self.loss_problem, None
        if problem is None:
            problem = self._gradient_problem()
        if problem is None:
            self._step(**kwargs)
        else:
            self.events.append((self.name, problem))

    def _gradient_problem(self) -> Optional[str]:
        grads = [(p, p.grad) for group in self.wrapper.param_groups for p in group['params']
                 if p.grad is not None]
        if not grads:
            return None
        # the largest |gradient| is finite exactly when every gradient is (no overflow of a sum)
        largest = torch.nn.utils.get_total_norm([g for _, g in grads], norm_type=math.inf)
        if bool(torch.isfinite(largest)):
            return None
        param, grad = next((p, g) for p, g in grads if not bool(torch.isfinite(g).all()))
        name = self.param_names.get(id(param), f'a parameter of shape {tuple(param.shape)}')
        bad = grad[~torch.isfinite(grad)].flatten()[0].item()
        return f'the gradient of {name} is {bad}'


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """Stops training (or skips the update) when a loss or a gradient is NaN or infinite.

    At ``before_train`` the hook wraps every optimizer wrapper of the runner (a single
    ``OptimWrapper`` or each one of an ``OptimWrapperDict``, e.g. GANSeg's generator and
    discriminator) so that an update whose loss is not finite, or whose gradients are not all
    finite, is not applied: ``step`` does nothing (parameters, optimizer moments and step counts
    stay as they were) and ``zero_grad`` clears the bad gradients as usual. This works for any
    model, whatever its ``train_step`` does, and needs no forward pass twice. After each
    iteration (before the logger and checkpoint hooks) it also checks every value the model logged
    (``loss_*`` terms, accuracies, ...), then:

    - ``action='stop'``: raises :class:`FloatingPointError` with one line naming the iteration
      (1-based, as the log counts), the non-finite terms and the updates withheld. No checkpoint
      of that iteration is written and the weights never held the poisoned update, so the last
      checkpoint on disk is the last good one; ``tools/train.py`` prints the line as
      ``partseg: error: ...``.
    - ``action='skip'``: logs a warning and goes on; the bad updates were not applied. Training
      still stops after ``max_consecutive_skips`` skipped iterations in a row, and at once when a
      buffer (e.g. BatchNorm running statistics, updated in the forward pass) became non-finite,
      since that cannot be undone.

    Under mixed precision (``AmpOptimWrapper``) gradients are left to the loss scaler, which skips
    overflowing steps and lowers its scale (overflow is expected there); logged values are still
    checked after each iteration.

    Args:
        action (str): ``'stop'`` (default) or ``'skip'``.
        max_consecutive_skips (int): with ``action='skip'``, stop after this many skipped
            iterations in a row.
    """

    priority = 'HIGH'  # after_train_iter: before LoggerHook (BELOW_NORMAL), CheckpointHook

    def __init__(self, action: str = 'stop', max_consecutive_skips: int = 10) -> None:
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteGuardHook: action must be one of {ACTIONS}, got '
                             f'{action!r}')
        if (isinstance(max_consecutive_skips, bool) or not isinstance(max_consecutive_skips, int)
                or max_consecutive_skips < 1):
            raise ValueError(f'NonFiniteGuardHook: max_consecutive_skips must be a positive '
                             f'integer, got {max_consecutive_skips!r}')
        self.action = action
        self.max_consecutive_skips = max_consecutive_skips
        self.num_skipped = 0
        self._consecutive_skips = 0
        self._events: List[Tuple[str, str]] = []
        self._guards: List[_StepGuard] = []

    # ------------------------------------------------------------------ hooks
    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        param_names = {id(p): name for name, p in model.named_parameters()}
        optim_wrapper = runner.optim_wrapper
        if isinstance(optim_wrapper, OptimWrapperDict):
            wrappers = list(optim_wrapper.items())
        else:
            wrappers = [('model', optim_wrapper)]
        for name, wrapper in wrappers:
            if isinstance(wrapper, AmpOptimWrapper) or hasattr(wrapper, GUARD_ATTRIBUTE):
                continue
            self._guards.append(_StepGuard(name, wrapper, param_names, self._events))

    def after_train(self, runner) -> None:
        for guard in self._guards:
            guard.remove()
        self._guards.clear()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        bad_values = self._non_finite_values(outputs)
        events, self._events[:] = list(self._events), []
        if not bad_values and not events:
            self._consecutive_skips = 0
            return
        iteration = runner.iter + 1
        what = f'non-finite training values at iteration {iteration}'
        if bad_values:
            what += ': ' + ', '.join(bad_values)
        if events:
            what += '; update withheld: ' + '; '.join(f'{name} ({problem})'
                                                      for name, problem in events)
        if self.action == 'skip':
            self._skip(runner, what)
            return
        last = runner.message_hub.get_info('last_ckpt')
        kept = (f'the last checkpoint, {last}, is the last good one'
                if last else 'no checkpoint was written yet')
        raise FloatingPointError(
            f'{what}; training stopped before saving anything of this iteration and {kept} '
            '(lower the learning rate, check the data, or use '
            "NonFiniteGuardHook(action='skip') in default_hooks.non_finite)")

    # ------------------------------------------------------------------ helpers
    def _skip(self, runner, what: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        bad_buffer = next(
            (name for name, buffer in model.named_buffers()
             if buffer.is_floating_point() and not bool(torch.isfinite(buffer).all())), None)
        if bad_buffer is not None:
            raise FloatingPointError(f'{what}; the buffer {bad_buffer} became non-finite, which '
                                     'skipping the update cannot undo: training stopped')
        self.num_skipped += 1
        self._consecutive_skips += 1
        if self._consecutive_skips >= self.max_consecutive_skips:
            raise FloatingPointError(f'{what}; {self._consecutive_skips} iterations in a row were '
                                     'non-finite (max_consecutive_skips): training stopped')
        print_log(
            f'NonFiniteGuardHook: {what}; skipped ({self.num_skipped} so far)',
            logger='current',
            level=logging.WARNING)

    @staticmethod
    def _non_finite_values(outputs) -> List[str]:
        """``name=value`` for each logged value that is not finite."""
        if not isinstance(outputs, dict):
            return []
        bad = []
        for key, value in outputs.items():
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                if not bool(torch.isfinite(value.detach()).all()):
                    bad.append(f'{key}={value.detach().float().sum().item()}')
            elif isinstance(value, float) and not math.isfinite(value):
                bad.append(f'{key}={value}')
        return bad
