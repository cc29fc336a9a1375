"""NonFiniteGuardHook: partseg's one NaN / overflow policy. A non-finite or overflowing loss,
gradient, weight or optimizer state never reaches a checkpoint."""
import logging
import math
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper, OptimWrapperDict

from partseg.registry import HOOKS
from partseg.utils.checks import check_int
from partseg.utils.model_wrapper import unwrap

__all__ = ['NonFiniteGuardHook', 'GUARD_ATTRIBUTE', 'OVERFLOW_LIMIT', 'first_bad_tensor']

ACTIONS = ('stop', 'skip')
#: Attribute set on every optimizer wrapper the hook guards.
GUARD_ATTRIBUTE = 'non_finite_guard'
#: Default overflow limit: the largest float32 whose square is finite (about 1.8e19). A loss,
#: gradient or weight beyond it overflows as soon as it is squared (Adam's second moment, weight
#: decay, an L2 loss), so it is treated as unusable like NaN and Inf.
OVERFLOW_LIMIT = math.sqrt(torch.finfo(torch.float32).max)


def _describe(value: float, limit: float) -> str:
    """``nan``, ``inf`` or the value with the limit it passes."""
    if not math.isfinite(value):
        return f'{value}'
    return f'{value:.3g} (beyond the overflow limit {limit:.3g})'


def first_bad_tensor(named: Iterable[Tuple[str, torch.Tensor]],
                     limit: Optional[float]) -> Optional[str]:
    """``'<name> is <value>'`` for the first floating-point tensor holding a non-finite value or,
    with ``limit``, a value beyond ``±limit``; None when all are fine.

    One reduction over all tensors first (the largest absolute value is finite and within the
    limit exactly when every element is), then a search only when something is wrong.
    """
    named = [(name, t.detach()) for name, t in named
             if isinstance(t, torch.Tensor) and t.is_floating_point() and t.numel()]
    if not named:
        return None
    largest = float(torch.nn.utils.get_total_norm([t for _, t in named], norm_type=math.inf))
    bound = math.inf if limit is None else limit
    if math.isfinite(largest) and largest <= bound:
        return None
    for name, tensor in named:
        bad = ~torch.isfinite(tensor)
        if limit is not None:
            bad |= tensor.abs() > limit
        if bool(bad.any()):
            value = tensor[bad].flatten()[0].float().item()
            return f'{name} is {_describe(value, bound)}'
    return None


def _optimizer_state(wrapper: OptimWrapper, param_names: Dict[int, str]):
    """``(name, tensor)`` of every optimizer state tensor (``<param>.exp_avg_sq``, ...)."""
    for param, state in wrapper.optimizer.state.items():
        name = param_names.get(id(param), f'a parameter of shape {tuple(param.shape)}')
        for key, value in state.items():
            yield f'the optimizer state {name}.{key}', value


class _StepGuard:
    """Wraps one optimizer wrapper's ``backward`` and ``step`` (instance attributes shadowing the
    class methods).

    Before the step: a non-finite or overflowing loss given to ``backward``, or such a gradient,
    makes that ``step`` a no-op, recorded in ``events`` as withheld. After the step: a weight or
    an optimizer-state tensor that became non-finite or overflowing is recorded as applied (it
    cannot be undone). Under mixed precision (``AmpOptimWrapper``) losses and gradients are left
    to the loss scaler, which skips overflowing steps itself; the state after the step is still
    checked.
    """

    def __init__(self, name: str, wrapper: OptimWrapper, param_names: Dict[int, str],
                 events: List[Tuple[str, str, bool]], limit: Optional[float]) -> None:
        self.name = name
        self.wrapper = wrapper
        self.param_names = param_names
        self.events = events
        self.limit = limit
        self.check_inputs = not isinstance(wrapper, AmpOptimWrapper)
        self.loss_problem: Optional[str] = None
        self._backward: Callable = wrapper.backward
        self._step: Callable = wrapper.step
        wrapper.backward = self.backward
        wrapper.step = self.step
        setattr(wrapper, GUARD_ATTRIBUTE, self)

    def remove(self) -> None:
        for attribute in ('backward', 'step', GUARD_ATTRIBUTE):
            self.wrapper.__dict__.pop(attribute, None)

    def _params(self) -> List[torch.nn.Parameter]:
        return [p for group in self.wrapper.param_groups for p in group['params']]

    def _name(self, param) -> str:
        return self.param_names.get(id(param), f'a parameter of shape {tuple(param.shape)}')

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        # always back-propagate: under DDP every rank must take part in the gradient all-reduce
        if self.check_inputs and self.loss_problem is None:
            problem = first_bad_tensor([('loss', loss)], self.limit)
            if problem is not None:
                self.loss_problem = f'the {self.name} {problem}'
        self._backward(loss, **kwargs)

    def step(self, **kwargs) -> None:
        problem, self.loss_problem = self.loss_problem, None
        if problem is None and self.check_inputs:
            problem = first_bad_tensor(((f'the gradient of {self._name(p)}', p.grad)
                                        for p in self._params() if p.grad is not None), self.limit)
        if problem is not None:
            self.events.append((self.name, problem, False))
            return
        self._step(**kwargs)
        problem = self.state_problem()
        if problem is not None:
            self.events.append((self.name, problem, True))

    def state_problem(self) -> Optional[str]:
        """The first bad weight (non-finite or overflowing) or optimizer state (non-finite)."""
        problem = first_bad_tensor(((self._name(p), p) for p in self._params()), self.limit)
        if problem is None:  # moments hold squares: only a non-finite one is unusable
            problem = first_bad_tensor(_optimizer_state(self.wrapper, self.param_names), None)
        return problem


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """partseg's one policy for NaN, Inf and overflow in training (every model, every config).

    At ``before_train`` the hook checks the weights and optimizer state the run starts from
    (e.g. a resumed checkpoint) and wraps every optimizer wrapper of the runner (a single
    ``OptimWrapper`` or each one of an ``OptimWrapperDict``, e.g. GANSeg's generator and
    discriminator):

    - an update whose loss or gradients are non-finite or beyond ``overflow_limit`` is not
      applied: ``step`` does nothing (weights, optimizer moments and step counts stay as they
      were) and ``zero_grad`` clears the gradients as usual;
    - after each applied update the weights (non-finite or beyond the limit) and the optimizer
      state (non-finite: Adam's ``exp_avg_sq`` overflows to inf first) are checked.

    After each iteration (before the logger and checkpoint hooks) it also checks every value the
    model logged (``loss_*`` terms, ...), then:

    - ``action='stop'``: raises :class:`FloatingPointError` with one line naming the iteration
      (1-based, as the log counts), the bad terms and what was withheld or went wrong. No
      checkpoint of that iteration is written. The last checkpoint on disk is loaded and checked
      the same way, and the message calls it the last good one only if it is;
      ``tools/train.py`` prints the line as ``partseg: error: ...``.
    - ``action='skip'``: logs a warning and goes on; the bad updates were not applied. Training
      still stops after ``max_consecutive_skips`` skipped iterations in a row, and at once when
      an applied update or a buffer (e.g. BatchNorm running statistics, updated in the forward
      pass) went bad, since that cannot be undone.

    Args:
        action (str): ``'stop'`` (default) or ``'skip'``.
        max_consecutive_skips (int): with ``action='skip'``, stop after this many skipped
            iterations in a row.
        overflow_limit (float, optional): largest absolute loss, gradient or weight accepted
            (default :data:`OVERFLOW_LIMIT`, about 1.8e19); None checks for NaN / Inf only.
    """

    priority = 'HIGH'  # after_train_iter: before LoggerHook (BELOW_NORMAL), CheckpointHook

    def __init__(self,
                 action: str = 'stop',
                 max_consecutive_skips: int = 10,
                 overflow_limit: Optional[float] = OVERFLOW_LIMIT) -> None:
        if action not in ACTIONS:
            raise ValueError(f'NonFiniteGuardHook: action must be one of {ACTIONS}, got '
                             f'{action!r}')
        check_int(max_consecutive_skips, 'max_consecutive_skips', 1, owner='NonFiniteGuardHook')
        if overflow_limit is not None and (isinstance(overflow_limit, bool) or
                                           not isinstance(overflow_limit,
                                                          (int, float)) or not overflow_limit > 0):
            raise ValueError(f'NonFiniteGuardHook: overflow_limit must be a positive number or '
                             f'None, got {overflow_limit!r}')
        self.action = action
        self.max_consecutive_skips = max_consecutive_skips
        self.overflow_limit = None if overflow_limit is None else float(overflow_limit)
        self.num_skipped = 0
        self._consecutive_skips = 0
        self._events: List[Tuple[str, str, bool]] = []
        self._guards: List[_StepGuard] = []

    # ------------------------------------------------------------------ hooks
    def before_train(self, runner) -> None:
        model = unwrap(runner.model)
        param_names = {id(p): name for name, p in model.named_parameters()}
        optim_wrapper = runner.optim_wrapper
        if isinstance(optim_wrapper, OptimWrapperDict):
            wrappers = list(optim_wrapper.items())
        else:
            wrappers = [('model', optim_wrapper)]
        for name, wrapper in wrappers:
            if hasattr(wrapper, GUARD_ATTRIBUTE):
                continue
            self._guards.append(
                _StepGuard(name, wrapper, param_names, self._events, self.overflow_limit))
        for guard in self._guards:
            problem = guard.state_problem()
            if problem is not None:
                raise FloatingPointError(
                    f'the training state at iteration {runner.iter} is unusable before any '
                    f'update: {problem}{self._loaded_from(runner)}; resume from an earlier '
                    'checkpoint or start over')

    def after_train(self, runner) -> None:
        for guard in self._guards:
            guard.remove()
        self._guards.clear()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        bad_values = self._bad_values(outputs)
        events, self._events[:] = list(self._events), []
        if not bad_values and not events:
            self._consecutive_skips = 0
            return
        iteration = runner.iter + 1
        what = f'non-finite or overflowing training values at iteration {iteration}'
        if bad_values:
            what += ': ' + ', '.join(bad_values)
        withheld = [f'{name} ({problem})' for name, problem, applied in events if not applied]
        applied = [f'{name} ({problem})' for name, problem, applied in events if applied]
        if withheld:
            what += '; update withheld: ' + '; '.join(withheld)
        if applied:
            what += '; after the update of ' + '; '.join(applied)
        if self.action == 'skip' and not applied:
            self._skip(runner, what)
            return
        raise FloatingPointError(f'{what}; training stopped before saving anything of this '
                                 f'iteration and {self._last_checkpoint_verdict(runner)} (lower '
                                 'the learning rate or a loss weight, check the data, or use '
                                 "NonFiniteGuardHook(action='skip') in default_hooks.non_finite)")

    # ------------------------------------------------------------------ helpers
    def _loaded_from(self, runner) -> str:
        source = getattr(runner, '_load_from', None)
        return f' (loaded from {source})' if source else ''

    def _last_checkpoint_verdict(self, runner) -> str:
        """Whether the last checkpoint of this run is usable, checked on the file itself."""
        last = runner.message_hub.get_info('last_ckpt')
        if not last:
            return 'no checkpoint was written yet'
        from ..checkpoint import safe_load  # the engine package imports the hooks: import late
        try:
            saved = safe_load(last, map_location='cpu')
        except (OSError, ValueError) as error:
            return f'the last checkpoint, {last}, cannot be loaded ({error})'
        problem = first_bad_tensor(
            _flatten_tensors(saved.get('state_dict', {}), 'state_dict'), self.overflow_limit)
        if problem is None:
            problem = first_bad_tensor(
                _flatten_tensors(saved.get('optimizer', {}), 'optimizer'), None)
        if problem is not None:
            return f'the last checkpoint, {last}, is not usable either ({problem})'
        return f'the last checkpoint, {last}, is the last good one (checked)'

    def _skip(self, runner, what: str) -> None:
        model = unwrap(runner.model)
        bad_buffer = first_bad_tensor(model.named_buffers(), None)
        if bad_buffer is not None:
            raise FloatingPointError(f'{what}; the buffer {bad_buffer}, which skipping the update '
                                     'cannot undo: training stopped')
        self.num_skipped += 1
        self._consecutive_skips += 1
        if self._consecutive_skips >= self.max_consecutive_skips:
            raise FloatingPointError(f'{what}; {self._consecutive_skips} iterations in a row were '
                                     'non-finite (max_consecutive_skips): training stopped')
        print_log(
            f'NonFiniteGuardHook: {what}; skipped ({self.num_skipped} so far)',
            logger='current',
            level=logging.WARNING)

    def _bad_values(self, outputs) -> List[str]:
        """``name=value`` for each logged value that is not finite or beyond the limit."""
        if not isinstance(outputs, dict):
            return []
        limit = math.inf if self.overflow_limit is None else self.overflow_limit
        bad = []
        for key, value in outputs.items():
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                number = value.detach().float().sum().item()
            elif isinstance(value, float):
                number = value
            else:
                continue
            if not math.isfinite(number) or abs(number) > limit:
                bad.append(f'{key}={number:.3g}' if math.isfinite(number) else f'{key}={number}')
        return bad


def _flatten_tensors(tree, prefix: str):
    """``(dotted name, tensor)`` of every tensor in nested dicts / lists."""
    if isinstance(tree, torch.Tensor):
        yield prefix, tree
    elif isinstance(tree, dict):
        for key, value in tree.items():
            yield from _flatten_tensors(value, f'{prefix}.{key}')
    elif isinstance(tree, (list, tuple)):
        for index, value in enumerate(tree):
            yield from _flatten_tensors(value, f'{prefix}.{index}')
