"""Import-time check that the dependency stack is one partseg works with.

The version ranges are declared once, in ``requirements/runtime.txt`` (setup.py turns them into
the package's requirements): a checkout reads that file, an installed package its own metadata,
which setup.py wrote from the same file.
"""
import os.path as osp
from importlib import metadata
from typing import Dict, List, Optional

from packaging.requirements import InvalidRequirement, Requirement

__all__ = ['DependencyError', 'runtime_requirements', 'check_dependencies']

_REPO_REQUIREMENTS = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'requirements', 'runtime.txt')

#: How to install a package whose plain ``pip install`` is not the way (mmcv needs its C++ ops).
INSTALL_HINTS = {
    'torch': 'bash tools/install.sh',
    'mmcv': 'bash tools/install.sh  (builds mmcv 2.1.0 with its ops, or takes a cached wheel)',
}


class DependencyError(ImportError):
    """A required package is missing or outside the supported version range."""


def _parse(lines) -> List[Requirement]:
    found = []
    for line in lines:
        line = line.split('#')[0].strip()
        if not line:
            continue
        try:
            found.append(Requirement(line))
        except InvalidRequirement:
            continue
    return found


def runtime_requirements(path: Optional[str] = None) -> List[Requirement]:
    """The requirements of ``requirements/runtime.txt`` (``path``, or the checkout's), else those
    of the installed ``partseg`` distribution without extras; [] when neither is there."""
    path = path or _REPO_REQUIREMENTS
    if osp.isfile(path):
        with open(path) as f:
            return _parse(f)
    try:
        declared = metadata.requires('partseg') or []
    except metadata.PackageNotFoundError:
        return []
    return [r for r in _parse(declared) if r.marker is None or 'extra' not in str(r.marker)]


def check_dependencies(requirements: Optional[List[Requirement]] = None,
                       hints: Optional[Dict[str, str]] = None) -> None:
    """Raise a one-line :class:`DependencyError` naming the first requirement that is missing or
    whose installed version is outside its range (markers that do not apply are skipped)."""
    hints = INSTALL_HINTS if hints is None else hints
    for req in runtime_requirements() if requirements is None else requirements:
        if req.marker is not None and not req.marker.evaluate({'extra': ''}):
            continue
        wanted = f'{req.name}{req.specifier}'
        hint = hints.get(req.name, f"pip install '{wanted}'")
        try:
            found = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            raise DependencyError(f'partseg needs {wanted} but it is not installed; install it '
                                  f'with: {hint}') from None
        if req.specifier and not req.specifier.contains(found, prereleases=True):
            raise DependencyError(f'partseg needs {wanted} but {req.name} {found} is installed; '
                                  f'install it with: {hint}')
