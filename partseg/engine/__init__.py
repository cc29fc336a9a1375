"""Training machinery: safe checkpoints, hooks, optimizer constructors.

Importing it registers the hooks and constructors and installs safe checkpointing
(:func:`partseg.engine.checkpoint.install_safe_checkpointing`).
"""
from . import hooks, optimizers  # noqa: F401  (register into HOOKS, OPTIM_WRAPPER_CONSTRUCTORS)
from .atomic_local_backend import AtomicLocalBackend
from .checkpoint import (SAFE_GLOBALS, CheckpointError, CorruptCheckpointError,
                         UnsafeCheckpointError, check_checkpoint_file, find_latest_checkpoint,
                         install_safe_checkpointing, safe_load)

install_safe_checkpointing()

__all__ = [
    'SAFE_GLOBALS', 'AtomicLocalBackend', 'CheckpointError', 'CorruptCheckpointError',
    'UnsafeCheckpointError', 'check_checkpoint_file', 'find_latest_checkpoint',
    'install_safe_checkpointing', 'safe_load'
]
