"""Safe checkpoints: ``weights_only=True`` loading with an explicit allow-list, atomic saving.

MMEngine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch 2.6 that means
``weights_only=True``, and MMEngine's own training state (``HistoryBuffer``s of the message hub,
numpy scalars and arrays) is refused, so ``resume`` breaks. Turning the restriction off would let a
crafted checkpoint run arbitrary code. Instead :func:`install_safe_checkpointing`:

1. pickles a :class:`~mmengine.logging.HistoryBuffer` as ``HistoryBuffer(log_history list,
   count_history list, max_length)`` through :mod:`copyreg` (its default pickle goes through
   ``builtins.getattr``, which no allow-list may admit: it would let a checkpoint call any method
   of an allowed object);
2. allow-lists exactly the globals MMEngine and partseg store (:data:`SAFE_GLOBALS`);
3. routes MMEngine's local and http(s) checkpoint loading (and the ``torchvision://``,
   ``open-mmlab://`` and ``mmcls://`` schemes, which download through the http loader) to
   :func:`load_from_local` / :func:`load_from_http`, which call ``torch.load(weights_only=True)``
   explicitly and turn a refusal into a one-line :class:`pickle.UnpicklingError` naming the file
   and the offending global;
4. registers the ``local_atomic`` file backend (:class:`AtomicLocalBackend`), which writes a
   checkpoint to a temporary file and renames it, so a kill while saving never leaves a truncated
   checkpoint. ``configs/_base_/default_runtime.py`` selects it with
   ``CheckpointHook(backend_args=dict(backend='local_atomic'))``.
"""
import copyreg
import os
import os.path as osp
import pickle
import re
import tempfile
from pathlib import Path
from typing import Union
from urllib.parse import urlparse

import numpy as np
import torch
import mmengine.runner.checkpoint as mmengine_checkpoint
from mmengine.dist import get_dist_info
from mmengine.fileio import LocalBackend, register_backend
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = [
    'SAFE_GLOBALS', 'AtomicLocalBackend', 'install_safe_checkpointing', 'safe_load',
    'load_from_local', 'load_from_http'
]

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

_GLOBAL_PATTERN = re.compile(r'GLOBAL ([\w.]+)')
_installed = False


def _reduce_history_buffer(buffer: HistoryBuffer):
    """Pickle a HistoryBuffer as its constructor call on plain lists (no ``builtins.getattr``)."""
    return HistoryBuffer, (buffer._log_history.tolist(), buffer._count_history.tolist(),
                           buffer.max_length)


def _refusal_message(filename: str, error: pickle.UnpicklingError) -> str:
    """One line naming the file and what the weights-only unpickler refused."""
    text = str(error)
    found = _GLOBAL_PATTERN.search(text)
    if found is not None:
        culprit = f'the global {found.group(1)}'
    else:
        culprit = None
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
        except (OSError, ValueError, RuntimeError):
            unsafe = []
        if unsafe:
            culprit = 'the global ' + ', '.join(sorted(unsafe))
        else:
            # the paragraph of torch's message that says what went wrong, minus its boilerplate
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            detail = next((line for line in lines if 'WeightsUnpickler error' in line), None)
            if detail is None:
                detail = lines[1] if len(lines) > 1 else (lines[0] if lines else repr(error))
            culprit = detail.replace('WeightsUnpickler error: ', '')
    return (f'refusing to load checkpoint {filename}: it stores {culprit}, which is not in '
            "partseg's allow-list of checkpoint contents "
            '(partseg.engine.checkpoint.SAFE_GLOBALS); only weights, tensors, numpy data and '
            'MMEngine training state can be loaded')


def safe_load(filename: Union[str, Path], map_location=None):
    """``torch.load(filename, weights_only=True)`` with :data:`SAFE_GLOBALS` allowed.

    Raises :class:`FileNotFoundError` for a missing file and a one-line
    :class:`pickle.UnpicklingError` naming the file and the refused global otherwise; nothing in
    a refused checkpoint is executed.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    with torch.serialization.safe_globals(list(SAFE_GLOBALS)):
        try:
            return torch.load(filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as error:
            raise pickle.UnpicklingError(_refusal_message(filename, error)) from None


def load_from_local(filename: str, map_location=None):
    """MMEngine checkpoint loader for local paths (scheme ``''``), weights-only."""
    return safe_load(filename, map_location=map_location)


def load_from_http(filename: str, map_location=None, model_dir=None, progress=None):
    """MMEngine checkpoint loader for ``http://`` / ``https://`` URLs, weights-only.

    Downloads into ``model_dir`` (default: torch hub's ``checkpoints`` directory) once — on local
    rank 0 first under distributed training — and loads the file with :func:`safe_load`.
    """
    if model_dir is None:
        model_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    if progress is None:
        progress = os.isatty(0)
    cached_file = osp.join(model_dir, osp.basename(urlparse(filename).path))
    rank, world_size = get_dist_info()

    def download():
        if not osp.isfile(cached_file):
            os.makedirs(model_dir, exist_ok=True)
            torch.hub.download_url_to_file(filename, cached_file, None, progress=progress)

    if rank == 0:
        download()
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            download()
    return safe_load(cached_file, map_location=map_location)


class AtomicLocalBackend(LocalBackend):
    """Local file backend whose writes are atomic: temporary file, fsync, then rename.

    A process killed while saving leaves the previous file (if any) intact; the destination never
    holds a partial write. Registered as ``backend='local_atomic'``.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        self._write_atomic(obj, filepath, 'wb')

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        self._write_atomic(obj.encode(encoding), filepath, 'wb')

    @staticmethod
    def _write_atomic(data: bytes, filepath: Union[str, Path], mode: str) -> None:
        filepath = str(filepath)
        directory = osp.dirname(osp.abspath(filepath))
        os.makedirs(directory, exist_ok=True)
        handle, tmp_path = tempfile.mkstemp(
            dir=directory, prefix=f'.{osp.basename(filepath)}.', suffix='.tmp')
        try:
            with os.fdopen(handle, mode) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp_path, filepath)
        except BaseException:
            if osp.exists(tmp_path):
                os.remove(tmp_path)
            raise


def install_safe_checkpointing() -> None:
    """Make MMEngine save and load checkpoints safely (idempotent); see the module docstring."""
    global _installed
    if _installed:
        return
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    torch.serialization.add_safe_globals(list(SAFE_GLOBALS))
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_from_http, force=True)
    # MMEngine's torchvision:// open-mmlab:// mmcls:// loaders resolve a URL and then call the
    # module-level ``load_from_http``; point that name at the weights-only loader as well.
    mmengine_checkpoint.load_from_http = load_from_http
    register_backend('local_atomic', AtomicLocalBackend, force=True)
    _installed = True
