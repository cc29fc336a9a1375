"""PartsegRunner: MMEngine's Runner with safe resume and configs checked before training."""
import copy
import inspect
from typing import Dict, List, Tuple

import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.runner import Runner

from partseg.registry import OPTIMIZERS, RUNNERS
from partseg.utils.checks import check_int
from .checkpoint import find_latest_checkpoint

__all__ = ['PartsegRunner', 'check_training_config']

# scheduler state that is the run's progress (kept from the checkpoint); everything else of a
# scheduler's state is its configuration (taken from the config on resume)
_SCHEDULER_PROGRESS = ('last_step', '_global_step', '_last_value', '_get_value_called_within_step')
_LOOP_LENGTHS = ('max_iters', 'max_epochs')


@RUNNERS.register_module()
class PartsegRunner(Runner):
    """The runner of every partseg config (``runner_type`` in ``_base_/default_runtime.py``).

    It extends MMEngine 0.10.7's :class:`~mmengine.runner.Runner` where that runner loses work or
    runs what it reads (see :mod:`partseg.engine.mmengine_compat`):

    - **Resume discovery** (``resume=True`` without ``load_from``): the newest intact
      ``iter_N.pth`` / ``epoch_N.pth`` of the work dir given
      (:func:`partseg.engine.checkpoint.find_latest_checkpoint`), whatever ``last_checkpoint``
      says, so a moved or copied work dir resumes its own checkpoints.
    - **Nothing of a checkpoint is executed**: MMEngine's ``resume`` passes ``meta['config']`` to
      ``Config.fromstring(.., '.py')``; :meth:`load_checkpoint` drops that entry (with a warning
      naming the file) before ``resume`` sees it.
    - **The config's optimizer settings win on resume**: the learning rate, betas, weight decay,
      ... of the config, and its parameter-scheduler settings, replace the checkpoint's; the
      optimizer moments (Adam's ``exp_avg``, ``exp_avg_sq``, step counts) and the schedule's
      progress are kept. One log line says what changed. Under a parameter scheduler the
      resumed value is the checkpoint's scheduled value times (config initial / checkpoint
      initial), exact for the multiplicative schedules (step, linear, exponential, ...).
    - **Config checks before anything is built**: a non-positive ``train_cfg.max_iters`` /
      ``max_epochs``, or an optimizer ``type`` that is not registered, is a one-line
      :class:`ValueError` naming the key (and the registered optimizers).
    """

    def __init__(self, *args, **kwargs) -> None:
        given = inspect.signature(Runner.__init__).bind(self, *args, **kwargs).arguments
        check_training_config(given.get('train_cfg'), given.get('optim_wrapper'))
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ resume
    def load_or_resume(self) -> None:
        """Resume from the newest intact checkpoint of the work dir when ``resume=True`` names
        none; otherwise as MMEngine (resume from / load ``load_from``)."""
        if self._has_loaded:
            return
        if self._resume and self._load_from is None:
            found = find_latest_checkpoint(self.work_dir)
            if found is None:
                self.logger.warning(f'resume: no checkpoint in {self.work_dir}; training starts '
                                    'from the beginning')
                self._has_loaded = True
                return
            self.logger.info(f'Auto resumed from the latest checkpoint {found} (the newest '
                             f'intact one in {self.work_dir}).')
            self.resume(found)
            self._has_loaded = True
            return
        super().load_or_resume()

    def load_checkpoint(self, filename: str, *args, **kwargs):
        checkpoint = super().load_checkpoint(filename, *args, **kwargs)
        meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
        if isinstance(meta, dict) and 'config' in meta:
            meta.pop('config')
            self.logger.warning(f'{filename}: ignoring the config code stored in its '
                                "meta['config']; nothing read from a checkpoint is run")
        return checkpoint

    def resume(self, filename: str, *args, **kwargs) -> None:
        """MMEngine's resume, then the config's optimizer and scheduler settings re-applied.

        ``self.resumed_from`` names the checkpoint (``AtomicCheckpointHook`` rotates the
        checkpoints of the run only when it lies in the run's checkpoint folder).
        """
        self.resumed_from = str(filename)
        if not isinstance(self.optim_wrapper, (OptimWrapper, OptimWrapperDict)):
            self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
        configured = _hyper_parameters(self.optim_wrapper)
        schedulers = _schedulers(self.param_schedulers)
        configured_schedules = [copy.deepcopy(s.state_dict()) for s in schedulers]
        super().resume(filename, *args, **kwargs)
        changes = _restore_hyper_parameters(self.optim_wrapper, configured)
        for scheduler, state in zip(_schedulers(self.param_schedulers), configured_schedules):
            _restore_schedule(scheduler, state)
        if changes:
            self.logger.warning(f'resume: the config\'s optimizer settings apply, not those of '
                                f'{filename}: ' + '; '.join(changes) + ' (optimizer moments and '
                                'schedule progress kept)')


def check_training_config(train_cfg, optim_wrapper) -> None:
    """One-line errors for a training length that trains nothing and an unknown optimizer.

    Raises:
        ValueError: ``train_cfg.max_iters`` / ``max_epochs`` not a positive integer, or an
            optimizer ``type`` not registered (the message lists the registered ones).
    """
    if isinstance(train_cfg, dict):
        for key in _LOOP_LENGTHS:
            if key in train_cfg:
                check_int(train_cfg[key], f'train_cfg.{key}', 1, hint='else nothing is trained')
    if isinstance(optim_wrapper, dict):
        for key, optimizer in _optimizer_configs(optim_wrapper, 'optim_wrapper'):
            _check_optimizer_type(key, optimizer)


def _optimizer_configs(cfg: dict, key: str) -> List[Tuple[str, dict]]:
    """``(key, optimizer dict)`` of an optim-wrapper config: its ``optimizer`` or, with one
    wrapper per sub-module, each ``<name>.optimizer``."""
    if isinstance(cfg.get('optimizer'), dict):
        return [(f'{key}.optimizer', cfg['optimizer'])]
    return [(f'{key}.{name}.optimizer', sub['optimizer']) for name, sub in cfg.items()
            if isinstance(sub, dict) and isinstance(sub.get('optimizer'), dict)]


def _check_optimizer_type(key: str, optimizer: dict) -> None:
    kind = optimizer.get('type')
    if not isinstance(kind, str) or OPTIMIZERS.get(kind) is not None:
        return  # a class given directly, or a registered name: MMEngine builds it
    choices = sorted(set(OPTIMIZERS.module_dict) | set(OPTIMIZERS.parent.module_dict))
    raise ValueError(f'{key}.type={kind!r} is not a registered optimizer; choices: '
                     f'{", ".join(choices)}')


def _wrappers(optim_wrapper) -> List[Tuple[str, OptimWrapper]]:
    if isinstance(optim_wrapper, OptimWrapperDict):
        return list(optim_wrapper.items())
    return [('', optim_wrapper)]


def _hyper_parameters(optim_wrapper) -> Dict[str, List[dict]]:
    """Every param group's settings (all but ``params``) of each optimizer wrapper."""
    return {
        name: [{
            k: copy.deepcopy(v)
            for k, v in group.items() if k != 'params'
        } for group in wrapper.optimizer.param_groups]
        for name, wrapper in _wrappers(optim_wrapper)
    }


def _differs(a, b) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return not torch.equal(torch.as_tensor(a), torch.as_tensor(b))
    return a != b


def _restore_hyper_parameters(optim_wrapper, configured: Dict[str, List[dict]]) -> List[str]:
    """Put the configured settings back into the resumed param groups; what changed, as text.

    A value a scheduler drives (``initial_<name>`` in the group) is rescaled: the checkpoint's
    current value times configured initial / checkpoint initial.
    """
    changes = []
    for name, wrapper in _wrappers(optim_wrapper):
        for index, (group, wanted) in enumerate(
                zip(wrapper.optimizer.param_groups, configured.get(name, []))):
            for key, value in wanted.items():
                if key.startswith('initial_') or key not in group:
                    continue
                initial = f'initial_{key}'
                if initial in wanted and initial in group:
                    old_initial, new_initial = group[initial], wanted[initial]
                    if not _differs(old_initial, new_initial):
                        continue
                    scale = new_initial / old_initial if old_initial else 0.0
                    group[key] = group[key] * scale if old_initial else new_initial
                    group[initial] = new_initial
                    old, value = old_initial, new_initial
                elif _differs(group[key], value):
                    old = group[key]
                    group[key] = copy.deepcopy(value)
                else:
                    continue
                where = '.'.join(part for part in (name, f'group{index}' if index else '') if part)
                changes.append(f'{where + " " if where else ""}{key} {value} (checkpoint: {old})')
    return changes


def _schedulers(param_schedulers) -> list:
    """The built schedulers (none while they are still configs)."""
    if param_schedulers is None:
        return []
    return [s for s in _flatten(param_schedulers) if hasattr(s, 'state_dict')]


def _flatten(schedulers) -> list:
    if isinstance(schedulers, dict):
        return [s for value in schedulers.values() for s in _flatten(value)]
    if isinstance(schedulers, (list, tuple)):
        return [s for value in schedulers for s in _flatten(value)]
    return [schedulers]


def _restore_schedule(scheduler, configured: dict) -> None:
    """The configured scheduler settings with the resumed progress."""
    state = scheduler.state_dict()
    state.update({k: v for k, v in configured.items() if k not in _SCHEDULER_PROGRESS})
    scheduler.load_state_dict(state)
