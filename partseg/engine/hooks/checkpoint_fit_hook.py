"""CheckpointFitHook: resuming from a checkpoint of another K or method is an error."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from partseg.registry import HOOKS
from partseg.utils.cli import UserError, check_state_dict_fits
from partseg.utils.model_wrapper import unwrap
from ..checkpoint import find_latest_checkpoint

__all__ = ['CheckpointFitHook']


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Refuses, in one line naming the file, a checkpoint whose weights do not fit the model.

    MMEngine copies a checkpoint into the model non-strictly: tensors of another shape or name are
    skipped with a warning and training goes on with a partly random model (then the optimizer
    state fails to load with an obscure error). In ``after_load_checkpoint``, before any weight is
    copied, this hook compares the checkpoint's ``state_dict`` with the model
    (:func:`partseg.utils.cli.check_state_dict_fits`):

    - when resuming (``resume=True`` / ``tools/train.py --resume``) every tensor must be there
      with the model's shape and nothing else: a checkpoint of another K (``num_parts``), another
      architecture or another method raises :class:`ValueError`;
    - when only loading weights (``load_from`` without resume, e.g. to fine-tune) it raises only
      for a checkpoint holding none of the model's weights (another method); a partial load keeps
      MMEngine's warnings.

    Names are compared as MMEngine's loader matches them: a ``module.`` prefix of the checkpoint
    is ignored, and so is the ``.module`` of a wrapped child (the per-network DDP of
    ``MMSeparateDistributedDataParallel``) when the checkpoint and the model disagree on it.
    """

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state_dict = checkpoint.get('state_dict', checkpoint)
        if not isinstance(state_dict, dict):
            return
        state_dict = {
            (k[len('module.'):] if k.startswith('module.') else k): v
            for k, v in state_dict.items()
        }
        model = unwrap(runner.model)
        state_dict = _named_as_model(state_dict, model)
        resuming = bool(getattr(runner, '_resume', False))
        own = model.state_dict()
        if not resuming and any(key in own for key in state_dict):
            return
        try:
            check_state_dict_fits(model, state_dict, _source(runner))
        except UserError as error:
            raise ValueError(f'{"cannot resume: " if resuming else ""}{error}') from None


def _source(runner) -> str:
    """The file being loaded: ``load_from``, else the checkpoint ``resume=True`` picks."""
    load_from = getattr(runner, '_load_from', None)
    if load_from:
        return str(load_from)
    return find_latest_checkpoint(str(runner.work_dir)) or f'the checkpoint in {runner.work_dir}'


def _named_as_model(state_dict: dict, model) -> dict:
    """``state_dict`` with ``<child>.`` keys renamed ``<child>.module.`` where the model's own
    state dict names a wrapped child so (a checkpoint saved without the wrapper's level)."""
    own_keys = list(model.state_dict())
    for name, module in model.named_modules():
        inner = f'{name}.module.'
        if not name or not is_model_wrapper(module):
            continue
        if not any(key.startswith(inner) for key in own_keys):
            continue
        renamed = {}
        for key, value in state_dict.items():
            if key.startswith(f'{name}.') and not key.startswith(inner):
                key = inner + key[len(name) + 1:]
            renamed[key] = value
        state_dict = renamed
    return state_dict
