"""Training machinery: safe checkpoints, the runner, hooks, optimizer constructors.

Importing it registers the runner, hooks and constructors and the weights-only checkpoint loaders
(:func:`partseg.engine.mmengine_compat.install_safe_checkpointing`); no MMEngine function is
replaced.
"""
from . import hooks, optimizers  # noqa: F401  (register into HOOKS, OPTIM_WRAPPER_CONSTRUCTORS)
from .atomic_local_backend import AtomicLocalBackend
from .checkpoint import (CheckpointError, CorruptCheckpointError, UnsafeCheckpointError,
                         check_checkpoint_file, find_latest_checkpoint, safe_load)
from .mmengine_compat import SAFE_GLOBALS, install_safe_checkpointing
from .runner import PartsegRunner

install_safe_checkpointing()

__all__ = [
    'SAFE_GLOBALS', 'AtomicLocalBackend', 'CheckpointError', 'CorruptCheckpointError',
    'PartsegRunner', 'UnsafeCheckpointError', 'check_checkpoint_file', 'find_latest_checkpoint',
    'install_safe_checkpointing', 'safe_load'
]
