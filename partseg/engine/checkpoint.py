"""Safe checkpoints: ``weights_only=True`` loading with an explicit allow-list, integrity checks,
and the choice of the checkpoint to resume from.

- :func:`safe_load` checks a file's integrity and calls ``torch.load(weights_only=True)`` with
  :data:`~partseg.engine.mmengine_compat.SAFE_GLOBALS` allowed: a refused global, a truncated or
  damaged file becomes a one-line :class:`CheckpointError` (a :class:`ValueError`) naming the file.
- :func:`load_from_local`, :func:`load_from_http`, :func:`load_from_torchvision`,
  :func:`load_from_openmmlab` and :func:`load_from_mmcls` are MMEngine checkpoint loaders built on
  it; :func:`partseg.engine.mmengine_compat.install_safe_checkpointing` registers them for their
  schemes with ``CheckpointLoader.register_scheme``.
- :func:`find_latest_checkpoint` picks the newest intact ``iter_N.pth`` / ``epoch_N.pth`` of a
  work dir (``PartsegRunner`` resumes from it).
"""
import logging
import os
import os.path as osp
import pickle
import re
import zipfile
from pathlib import Path
from typing import List, Optional, Union
from urllib.parse import urlparse

import torch
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from mmengine.runner.checkpoint import (_process_mmcls_checkpoint, get_deprecated_model_names,
                                        get_external_models, get_mmcls_models,
                                        get_torchvision_models)

from .mmengine_compat import SAFE_GLOBALS, allow_safe_globals

__all__ = [
    'SAFE_GLOBALS', 'CheckpointError', 'CheckpointDownloadError', 'CorruptCheckpointError',
    'UnsafeCheckpointError', 'safe_load', 'check_checkpoint_file', 'find_latest_checkpoint',
    'load_from_local', 'load_from_http', 'load_from_torchvision', 'load_from_openmmlab',
    'load_from_mmcls'
]

_CHECKPOINT_NAME = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')
_GLOBAL_PATTERN = re.compile(r'GLOBAL ([\w.]+)')
_ANSI_ESCAPE = re.compile(r'\x1b\[[0-9;]*m')  # torch's message bolds a phrase


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the one-line message names the file."""


class CheckpointDownloadError(CheckpointError):
    """A checkpoint URL that is not in torch's hub cache and cannot be downloaded (its cause: the
    ``OSError`` of the download)."""


class CorruptCheckpointError(CheckpointError):
    """A truncated, damaged or empty checkpoint file."""


class UnsafeCheckpointError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint refused by the weights-only unpickler (it stores a global not allowed)."""


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
    """``torch.load(filename, weights_only=True)`` with ``SAFE_GLOBALS`` allowed.

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
    allow_safe_globals()
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
        if osp.isfile(cached_file):
            return
        try:
            os.makedirs(model_dir, exist_ok=True)
            torch.hub.download_url_to_file(filename, cached_file, None, progress=progress)
        except OSError as error:  # urllib's URLError too: offline, proxy, disk
            raise CheckpointDownloadError(
                f'{osp.basename(cached_file)} is not in torch\'s hub cache ({model_dir}) and '
                f'cannot be downloaded ({type(error).__name__}: {_first_line(error)}); put '
                f'{filename} into that folder, or set the config key that names it (for a '
                'backbone: model.backbone.init_cfg.checkpoint) to a local copy') from error

    if rank == 0:
        download()
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            download()
    return safe_load(cached_file, map_location=map_location)


def load_from_torchvision(filename: str, map_location=None):
    """Loader of ``torchvision://NAME`` (and the old ``modelzoo://NAME``): torchvision's URL of
    ``NAME`` (MMEngine's table), downloaded and loaded by :func:`load_from_http`."""
    name = filename.split('://', 1)[1]
    urls = get_torchvision_models()
    if name not in urls:
        raise KeyError(f'{filename}: torchvision has no model {name!r}')
    return load_from_http(urls[name], map_location=map_location)


def load_from_openmmlab(filename: str, map_location=None):
    """Loader of ``open-mmlab://NAME`` / ``openmmlab://NAME``: the URL (or file under MMEngine's
    home) of ``NAME`` in MMEngine's table, deprecated names followed, loaded weights-only."""
    scheme, name = filename.split('://', 1)
    name = get_deprecated_model_names().get(name, name)
    urls = get_external_models()
    if name not in urls:
        raise KeyError(f'{filename}: {scheme}:// has no model {name!r}')
    url = urls[name]
    if url.startswith(('http://', 'https://')):
        return load_from_http(url, map_location=map_location)
    home = osp.expanduser(os.getenv('MMENGINE_HOME', osp.join('~', '.cache', 'mmengine')))
    return safe_load(osp.join(home, url), map_location=map_location)


def load_from_mmcls(filename: str, map_location=None):
    """Loader of ``mmcls://NAME``: the URL of ``NAME`` in MMEngine's table, loaded by
    :func:`load_from_http`, its ``backbone.`` keys renamed as MMEngine does."""
    name = filename.split('://', 1)[1]
    urls = get_mmcls_models()
    if name not in urls:
        raise KeyError(f'{filename}: mmcls:// has no model {name!r}')
    return _process_mmcls_checkpoint(load_from_http(urls[name], map_location=map_location))


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
    """The checkpoint to resume from in work dir ``path``: its newest intact checkpoint.

    Looks only in ``path`` itself, at ``iter_N.pth`` / ``epoch_N.pth`` from the largest N down:
    a damaged or truncated one is skipped with a warning naming it. MMEngine's record
    ``<path>/last_checkpoint`` holds an absolute path that is wrong once a work dir is moved or
    copied, so it is not followed; only a record naming a remote file (``s3://...``, from a
    ``CheckpointHook`` with a remote ``out_dir``) is returned as it stands. Returns None when
    there is nothing to resume from.
    """
    save_file = osp.join(path, 'last_checkpoint')
    if osp.isfile(save_file):
        try:
            with open(save_file, encoding='utf-8') as f:
                recorded = f.read().strip()
        except (OSError, UnicodeDecodeError):
            recorded = ''
        if '://' in recorded:
            return recorded
    candidates = _checkpoints_in(path)
    for candidate in candidates:
        try:
            check_checkpoint_file(candidate)
        except (FileNotFoundError, CorruptCheckpointError) as error:
            print_log(
                f'Skipping checkpoint {candidate} for resuming: {error}',
                logger='current',
                level=logging.WARNING)
            continue
        if candidate != candidates[0]:
            print_log(
                f'Resuming from {candidate}, the newest intact checkpoint in {path}',
                logger='current',
                level=logging.WARNING)
        return candidate
    print_log(
        f'Did not find {"an intact" if candidates else "a"} checkpoint to resume from in {path}.',
        logger='current',
        level=logging.WARNING)
    return None
