"""Find the configs and tools that ship with partseg, in a checkout or an installed package.

A wheel of partseg carries ``configs/`` and the user-facing tools in ``partseg/.mim/`` (setup.py
copies them there when it builds, as mmsegmentation does); an editable install or a checkout has
them at the repository root. :func:`find_config` resolves a repository-relative name such as
``configs/dispart/synthetic_k4.py`` in either.
"""
import os.path as osp
from typing import List

__all__ = ['shipped_roots', 'find_config']

_PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))  # .../partseg


def shipped_roots() -> List[str]:
    """Folders that hold ``configs/`` and ``tools/``: ``partseg/.mim`` of an installed package,
    then the repository root of a checkout (where the package was imported from)."""
    roots = [osp.join(_PACKAGE, '.mim'), osp.dirname(_PACKAGE)]
    return [root for root in roots if osp.isdir(osp.join(root, 'configs'))]


def find_config(name: str) -> str:
    """The file of config ``name``: the path itself when it exists, else ``name`` (with or without
    its leading ``configs/``) under :func:`shipped_roots`; ``name`` unchanged when none has it
    (the caller's 'config file not found' then names what the user typed)."""
    name = osp.expanduser(str(name))
    if osp.isfile(name) or osp.isabs(name):
        return name
    relative = osp.normpath(name)
    candidates = [relative] if relative.startswith('configs' + osp.sep) else [
        relative, osp.join('configs', relative)
    ]
    for root in shipped_roots():
        for candidate in candidates:
            path = osp.join(root, candidate)
            if osp.isfile(path):
                return path
    return name
