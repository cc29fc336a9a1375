"""AtomicLocalBackend: an MMEngine file backend that never leaves a half-written file."""
import fcntl
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend

__all__ = ['AtomicLocalBackend', 'is_being_written']


def _current_umask() -> int:
    """The process umask (reading it means setting it; it is restored at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class AtomicLocalBackend(LocalBackend):
    """Local file backend whose writes are atomic: temporary file, fsync, rename, fsync directory.

    A process killed while saving leaves the previous file (if any) intact and the destination
    never holds a partial write; a failed write (disk full, permission denied) removes its
    temporary file and raises an :class:`OSError` naming the destination. The written file gets
    the permissions an ordinary ``open(path, 'wb')`` would give it (``0o666 & ~umask``).
    Registered as MMEngine file backend ``'local_atomic'`` by
    :func:`partseg.engine.install_safe_checkpointing`; select it with
    ``CheckpointHook(backend_args=dict(backend='local_atomic'))``.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write ``obj`` to ``filepath`` atomically."""
        self._write_atomic(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Write the text ``obj`` to ``filepath`` atomically."""
        self._write_atomic(obj.encode(encoding), filepath)

    @staticmethod
    def _write_atomic(data: bytes, filepath: Union[str, Path]) -> None:
        filepath = osp.abspath(str(filepath))
        directory = osp.dirname(filepath)
        tmp_path = None
        try:
            os.makedirs(directory, exist_ok=True)
            handle, tmp_path = tempfile.mkstemp(
                dir=directory, prefix=f'.{osp.basename(filepath)}.', suffix='.tmp')
            with os.fdopen(handle, 'wb') as f:
                # held until the rename: remove_stale_temporaries leaves a locked file alone
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
                os.fchmod(f.fileno(), 0o666 & ~_current_umask())
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                os.replace(tmp_path, filepath)
            tmp_path = None
            _fsync_directory(directory)
        except OSError as error:
            if error.errno is None:
                raise type(error)(f'cannot write {filepath}: {error}') from None
            raise type(error)(error.errno, f'cannot write {filepath}: {error.strerror}') from None
        finally:
            if tmp_path is not None and osp.lexists(tmp_path):
                os.remove(tmp_path)


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_being_written(path: str) -> bool:
    """Whether a live process holds the write lock of the temporary file ``path`` (an
    :class:`AtomicLocalBackend` write in progress); a killed writer's lock is gone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
