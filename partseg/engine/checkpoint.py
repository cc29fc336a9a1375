"""Safe checkpoints: ``weights_only=True`` loading with an explicit allow-list, integrity checks.

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
   :func:`load_from_local` / :func:`load_from_http`, which check the file's integrity and call
   ``torch.load(weights_only=True)`` through :func:`safe_load`: a refused global, a truncated or
   damaged file becomes a one-line :class:`CheckpointError` (a :class:`ValueError`) naming the file;
4. replaces MMEngine's ``find_latest_checkpoint`` (used by ``resume=True`` without a path) with
   :func:`find_latest_checkpoint`, which skips a damaged latest checkpoint, by name, and resumes
   from the newest intact one;
5. registers the ``local_atomic`` file backend
   (:class:`~partseg.engine.atomic_local_backend.AtomicLocalBackend`), which writes a checkpoint to
   a temporary file and renames it, so a kill while saving never leaves a truncated checkpoint.
   ``configs/_base_/default_runtime.py`` selects it with
   ``CheckpointHook(backend_args=dict(backend='local_atomic'))``.
"""
import copyreg
import logging
import os
import os.path as osp
import pickle
import re
import zipfile
from pathlib import Path
from typing import List, Optional, Union
from urllib.parse import urlparse

import mmengine.runner as mmengine_runner
import mmengine.runner._flexible_runner as mmengine_flexible_runner
import mmengine.runner.checkpoint as mmengine_checkpoint
import mmengine.runner.runner as mmengine_runner_module
import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.fileio import register_backend
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.checkpoint import CheckpointLoader

from .atomic_local_backend import AtomicLocalBackend

__all__ = [
    'SAFE_GLOBALS', 'CheckpointError', 'CorruptCheckpointError', 'UnsafeCheckpointError',
    'install_safe_checkpointing', 'safe_load', 'check_checkpoint_file', 'find_latest_checkpoint',
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

_CHECKPOINT_NAME = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')
_GLOBAL_PATTERN = re.compile(r'GLOBAL ([\w.]+)')
_ANSI_ESCAPE = re.compile(r'\x1b\[[0-9;]*m')  # torch's message bolds a phrase
_installed = False


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the one-line message names the file."""


class CorruptCheckpointError(CheckpointError):
    """A truncated, damaged or empty checkpoint file."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint refused by the weights-only unpickler (it stores a global not allowed)."""


def _reduce_history_buffer(buffer: HistoryBuffer):
    """Pickle a HistoryBuffer as its constructor call on plain lists (no ``builtins.getattr``)."""
    return HistoryBuffer, (buffer._log_history.tolist(), buffer._count_history.tolist(),
                           buffer.max_length)


def _lines(error: BaseException) -> List[str]:
    text = _ANSI_ESCAPE.sub('', str(error))
    return [line.strip() for line in text.splitlines() if line.strip()]


def _first_line(error: BaseException) -> str:
    lines = _lines(error)
    return lines[0] if lines else type(error).__name__


def _refusal_message(filename: str, error: pickle.UnpicklingError) -> str:
    """One line naming the file and what the weights-only unpickler refused."""
    text = str(error)
    found = _GLOBAL_PATTERN.search(text)
    if found is not None:
        return (f'refusing to load checkpoint {filename}: it stores the global {found.group(1)}, '
                "which is not in partseg's allow-list of checkpoint contents "
                '(partseg.engine.checkpoint.SAFE_GLOBALS); only weights, tensors, numpy data and '
                'MMEngine training state are loaded, nothing else is unpickled')
    lines = _lines(error)
    detail = next((line.split('WeightsUnpickler error:', 1)[1].strip()
                   for line in lines if 'WeightsUnpickler error:' in line), '')
    if not detail:
        # torch puts the reason on the line after 'WeightsUnpickler error:'
        marker = next((i for i, line in enumerate(lines) if 'WeightsUnpickler error' in line), None)
        detail = lines[marker + 1] if marker is not None and marker + 1 < len(lines) else ''
    detail = detail or _first_line(error)
    return (f'refusing to load checkpoint {filename}: the weights-only unpickler rejected it '
            f'({detail}); it is not a plain PyTorch/MMEngine checkpoint or it is damaged')


def _integrity_problem(filename: str) -> Optional[str]:
    """Why ``filename`` cannot be a complete checkpoint, or None; reads the file, unpickles nothing.

    A zip checkpoint (``torch.save``'s format) must open as an archive and pass the CRC check of
    every member; a file in the legacy (pickle) format must start with a pickle opcode.
    """
    if osp.getsize(filename) == 0:
        return 'the file is empty (0 bytes)'
    with open(filename, 'rb') as f:
        head = f.read(4)
    if head.startswith(b'PK') or zipfile.is_zipfile(filename):
        try:
            with zipfile.ZipFile(filename) as archive:
                damaged = archive.testzip()
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
            return f'it is a truncated or damaged zip archive ({_first_line(error)})'
        if damaged is not None:
            return f'its member {damaged} fails its CRC check (the file is damaged)'
        return None
    if head[:1] == b'\x80':  # legacy torch.save format: a pickle (protocol >= 2)
        return None
    return 'it is neither a PyTorch zip archive nor a legacy (pickle) checkpoint'


def check_checkpoint_file(filename: Union[str, Path]) -> None:
    """Raise if ``filename`` is missing, empty, truncated or damaged; never unpickles anything.

    Raises:
        FileNotFoundError: no such file.
        CorruptCheckpointError: a one-line message naming the file and what is wrong with it.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    problem = _integrity_problem(filename)
    if problem is not None:
        raise CorruptCheckpointError(f'cannot load checkpoint {filename}: {problem}')


def safe_load(filename: Union[str, Path], map_location=None):
    """``torch.load(filename, weights_only=True)`` with :data:`SAFE_GLOBALS` allowed.

    The file's integrity is checked first (:func:`check_checkpoint_file`). Nothing in a refused
    checkpoint is executed.

    Raises:
        FileNotFoundError: no such file.
        CorruptCheckpointError: the file is empty, truncated or damaged.
        UnsafeCheckpointError: the file stores a global outside the allow-list.
        CheckpointError: ``torch.load`` failed otherwise (e.g. a ``map_location`` that does not
            exist here); the message names the file and torch's reason.
    """
    filename = osp.expanduser(str(filename))
    check_checkpoint_file(filename)
    # added for good, not with the ``safe_globals`` context manager: leaving that context removes
    # its globals again, including those install_safe_checkpointing() allowed process-wide
    torch.serialization.add_safe_globals(list(SAFE_GLOBALS))
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(_refusal_message(filename, error)) from None
    except MemoryError:
        raise
    except Exception as error:  # torch raises RuntimeError, EOFError, KeyError, IndexError...
        raise CheckpointError(f'cannot load checkpoint {filename}: '
                              f'{type(error).__name__}: {_first_line(error)}') from None


def load_from_local(filename: str, map_location=None):
    """MMEngine checkpoint loader for local paths (scheme ``''``), weights-only."""
    return safe_load(filename, map_location=map_location)


def load_from_http(filename: str, map_location=None, model_dir=None, progress=None):
    """MMEngine checkpoint loader for ``http://`` / ``https://`` URLs, weights-only.

    Downloads into ``model_dir`` (default: torch hub's ``checkpoints`` directory) once — on rank 0
    first under distributed training — and loads the file with :func:`safe_load`.
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


def _checkpoints_in(directory: str) -> List[str]:
    """``iter_N.pth`` / ``epoch_N.pth`` files of ``directory``, newest (largest N) first."""
    if not osp.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = _CHECKPOINT_NAME.match(name)
        if match is not None:
            found.append((int(match.group(1)), osp.join(directory, name)))
    return [path for _, path in sorted(found, reverse=True)]


def find_latest_checkpoint(path: str) -> Optional[str]:
    """The checkpoint to resume from in work dir ``path``: the latest one that is intact.

    Starts with the file named in ``<path>/last_checkpoint`` (MMEngine's record of the latest
    save); if that record is missing, empty or names a missing or damaged file, logs a warning
    naming it and falls back to the newest intact ``iter_N.pth`` / ``epoch_N.pth`` beside it (or
    in ``path``). A record naming a remote file (``s3://...``) is returned unchecked. Returns None
    when there is nothing to resume from.
    """
    save_file = osp.join(path, 'last_checkpoint')
    recorded = ''
    if osp.isfile(save_file):
        with open(save_file) as f:
            recorded = f.read().strip()
    if '://' in recorded:
        return recorded
    candidates = [recorded] if recorded else []
    directory = osp.dirname(recorded) if recorded else path
    candidates += [c for c in _checkpoints_in(directory) if c != recorded]
    if not candidates:
        print_log(f'Did not find a checkpoint to resume from in {path}.', logger='current')
        return None
    for candidate in candidates:
        try:
            check_checkpoint_file(candidate)
        except (FileNotFoundError, CorruptCheckpointError) as error:
            print_log(
                f'Skipping checkpoint {candidate} for resuming: {error}',
                logger='current',
                level=logging.WARNING)
            continue
        if candidate != recorded:
            print_log(
                f'Resuming from {candidate}, the newest intact checkpoint in {directory}',
                logger='current',
                level=logging.WARNING)
        return candidate
    print_log(
        f'Did not find an intact checkpoint to resume from in {path}.',
        logger='current',
        level=logging.WARNING)
    return None


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
    # Runner.load_or_resume (resume=True without a path) calls the name imported into these
    # modules; the strategies import it from mmengine.runner at call time.
    for module in (mmengine_checkpoint, mmengine_runner, mmengine_runner_module,
                   mmengine_flexible_runner):
        module.find_latest_checkpoint = find_latest_checkpoint
    register_backend('local_atomic', AtomicLocalBackend, force=True)
    _installed = True
