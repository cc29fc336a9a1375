"""An output folder that always holds one complete run (``tools/infer.py``, ``tools/test.py``).

A run writes into a hidden sibling folder ``.<name>.partial`` and, once everything is written,
that folder takes the place of ``<name>``: a run that fails or is killed half-way leaves the
previous run's outputs as they were, never a mix of two runs.
"""
import fnmatch
import os
import os.path as osp
import shutil
from typing import Sequence

from .cli import UserError

__all__ = ['OutputFolder']


class OutputFolder:
    """``path``, written through a temporary sibling folder renamed at the end.

    Args:
        path: the folder the user asked for.
        patterns: shell patterns of the files a run writes (``'*_labels.png'``). An existing
            ``path`` is replaced at the end only if it is empty or holds nothing but such files
            (an earlier run's outputs); a folder with anything else in it is refused up front,
            naming one such entry, so no file of the user's is ever removed.
        option: the command-line option that named ``path``, for the messages.
    """

    def __init__(self, path: str, patterns: Sequence[str], option: str = '--out') -> None:
        self.path = osp.normpath(osp.expanduser(str(path)))
        self.patterns = tuple(patterns)
        self.option = option
        parent, name = osp.split(osp.abspath(self.path))
        self.partial = osp.join(parent, f'.{name}.partial')
        self._old = osp.join(parent, f'.{name}.old')

    def check(self) -> None:
        """Refuse (one line) a destination this run could not replace without losing files."""
        if osp.exists(self.path) and not osp.isdir(self.path):
            raise UserError(f'{self.option} {self.path} exists and is not a folder')
        if osp.isdir(self.path):
            for entry in sorted(os.listdir(self.path)):
                full = osp.join(self.path, entry)
                if not (osp.isfile(full) and any(fnmatch.fnmatch(entry, p) for p in self.patterns)):
                    raise UserError(f'{self.option} {self.path} holds {entry}, which is not an '
                                    f'output of this tool; choose a new or empty folder')

    def start(self) -> str:
        """Check the destination, remove a killed run's leftover ``.partial`` folder, create a
        fresh one and return it (write everything there)."""
        self.check()
        for leftover in (self.partial, self._old):
            if osp.isdir(leftover):
                print(f'partseg: removing {leftover}, left by an interrupted run')
                shutil.rmtree(leftover)
        try:
            os.makedirs(self.partial)
        except OSError as error:
            raise OSError(f'cannot create output folder {self.partial}: {error.strerror}') from None
        return self.partial

    def finish(self) -> str:
        """Move the complete run into place (replacing an earlier run's folder); returns it."""
        if osp.isdir(self.path):
            os.replace(self.path, self._old)
            os.replace(self.partial, self.path)
            shutil.rmtree(self._old)
        else:
            os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
            os.replace(self.partial, self.path)
        return self.path

    def discard(self) -> None:
        """Remove the partial folder of a failed run; the destination is left as it was."""
        shutil.rmtree(self.partial, ignore_errors=True)
