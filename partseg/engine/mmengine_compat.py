"""Everything partseg does to make MMEngine 0.10.x work safely on torch >= 2.6, in one place.

What it works around (MMEngine 0.10.7, the version pinned in requirements; torch 2.6 and later):

1. **torch >= 2.6 loads with** ``weights_only=True`` **by default, MMEngine <= 0.10.7 does not
   say** ``weights_only``: MMEngine's training state (``HistoryBuffer`` s of the message hub,
   numpy scalars and arrays) is refused and ``resume`` breaks. Turning the restriction off would
   let a crafted checkpoint run code. Instead:

   - a :class:`~mmengine.logging.HistoryBuffer` is pickled as ``HistoryBuffer(log list, count
     list, max_length)`` through :mod:`copyreg` (its default pickle goes through
     ``builtins.getattr``, which no allow-list may admit: it would let a checkpoint call any
     method of an allowed object);
   - exactly the globals MMEngine and partseg store are allowed (:data:`SAFE_GLOBALS`, with the
     ``numpy.core`` names of checkpoints written under numpy 1.x);
   - every checkpoint scheme MMEngine reads over the network or from disk (local paths,
     ``http(s)://``, ``torchvision://`` / ``modelzoo://``, ``open-mmlab://`` / ``openmmlab://``,
     ``mmcls://``) is registered again, ``force=True``, through
     :meth:`~mmengine.runner.CheckpointLoader.register_scheme`, with partseg's weights-only
     loaders (:mod:`partseg.engine.checkpoint`), which also check the file's integrity and raise
     one-line errors naming the file. ``pavi://`` and ``s3://`` keep MMEngine's loaders, whose
     ``torch.load`` is weights-only by torch's default.

2. **MMEngine's** ``CheckpointHook`` **writes** ``last_checkpoint`` with a plain ``open(.., 'w')``
   and leaves an empty file when killed; ``find_latest_checkpoint`` follows the absolute path
   inside it, so a moved work dir restarts from scratch; ``Runner.resume`` passes
   ``meta['config']`` of the checkpoint to ``Config.fromstring(.., '.py')``, which executes it;
   and on resume the checkpoint's optimizer hyper-parameters override the config. These are not
   patched: partseg extends MMEngine instead, with the ``local_atomic`` file backend registered
   here (:class:`~partseg.engine.atomic_local_backend.AtomicLocalBackend`), the
   ``AtomicCheckpointHook`` (:mod:`partseg.engine.hooks.atomic_checkpoint_hook`) and the
   ``PartsegRunner`` (:mod:`partseg.engine.runner`, ``runner_type`` in
   ``configs/_base_/default_runtime.py``).

Nothing here replaces an MMEngine function or method: :func:`install_safe_checkpointing` uses
only registries (checkpoint schemes, file backends), :mod:`copyreg` and torch's allow-list.
``tests/test_engine/test_no_mmengine_patching.py`` checks that importing every partseg module
leaves every MMEngine function object in place. On an MMEngine upgrade, re-check items 1 and 2
against the new version here.
"""
import copyreg

import numpy as np
import torch
from mmengine.fileio import register_backend
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from .atomic_local_backend import AtomicLocalBackend

__all__ = ['SAFE_GLOBALS', 'install_safe_checkpointing']

# numpy dtype classes (np.dtypes.Float32DType, ...): a dtype is rebuilt by calling ``numpy.dtype``
# and then BUILD on the instance, which the weights-only unpickler allows only for listed types.
# Booleans, integers, floats, complex numbers, str and bytes; never the object dtype.
_NUMPY_DTYPE_CLASSES = tuple(type(np.dtype(code)) for code in '?bBhHiIlLqQefdgFDGUS')

SAFE_GLOBALS = (
    HistoryBuffer,  # reduced by copyreg to HistoryBuffer(list, list, int)
    np.ndarray,
    np.dtype,
    np._core.multiarray._reconstruct,
    np._core.multiarray.scalar,
) + _NUMPY_DTYPE_CLASSES + (
    # the same functions as checkpoints written under numpy 1.x name them
    (np._core.multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
    (np._core.multiarray.scalar, 'numpy.core.multiarray.scalar'),
)
"""Every global a partseg / MMEngine checkpoint may hold beyond torch's own weights-only set
(tensors, storages, ``collections.OrderedDict`` / ``Counter``, ...), found by saving checkpoints
of a real :class:`~mmengine.runner.Runner` run and listing the pickle's globals."""

_installed = False


def _reduce_history_buffer(buffer: HistoryBuffer):
    """Pickle a HistoryBuffer as its constructor call on plain lists (no ``builtins.getattr``)."""
    return HistoryBuffer, (buffer._log_history.tolist(), buffer._count_history.tolist(),
                           buffer.max_length)


def allow_safe_globals() -> None:
    """Add :data:`SAFE_GLOBALS` to torch's weights-only allow-list (for good, process-wide)."""
    torch.serialization.add_safe_globals(list(SAFE_GLOBALS))


def install_safe_checkpointing() -> None:
    """Register the weights-only loaders, the HistoryBuffer reducer, the allow-list and the
    ``local_atomic`` backend (idempotent; called by ``import partseg.engine``)."""
    global _installed
    if _installed:
        return
    from . import checkpoint as loaders  # imports this module: import late
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    allow_safe_globals()
    for prefixes, loader in (
        ('', loaders.load_from_local),
        (('http://', 'https://'), loaders.load_from_http),
        (('modelzoo://', 'torchvision://'), loaders.load_from_torchvision),
        (('open-mmlab://', 'openmmlab://'), loaders.load_from_openmmlab),
        ('mmcls://', loaders.load_from_mmcls),
    ):
        CheckpointLoader.register_scheme(prefixes=prefixes, loader=loader, force=True)
    register_backend('local_atomic', AtomicLocalBackend, force=True)
    _installed = True
