"""Import-time checks that the dependency stack is one partseg works with."""
from importlib import metadata

from packaging.version import Version

# package -> (minimum inclusive, maximum exclusive, install hint)
REQUIRED = {
    'torch': ('2.0.0', None, 'bash tools/install.sh  (or: pip install torch==2.14.1)'),
    'mmengine': ('0.10.0', '0.11.0', 'pip install mmengine==0.10.7'),
    'mmcv': ('2.0.0rc4', '2.2.0', 'bash tools/install.sh  (builds mmcv 2.1.0 with its ops)'),
    'mmsegmentation': ('1.2.0', '1.3.0', 'pip install mmsegmentation==1.2.2'),
}


class DependencyError(ImportError):
    """A required package is missing or outside the supported version range."""


def check_dependencies(required=None):
    """Raise a one-line :class:`DependencyError` naming the first package that is wrong."""
    for name, (low, high, hint) in (required or REQUIRED).items():
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise DependencyError(f'partseg needs {name}>={low}' + (f',<{high}' if high else '') +
                                  f' but it is not installed; install it with: {hint}') from None
        version = Version(found)
        if version < Version(low) or (high is not None and version >= Version(high)):
            raise DependencyError(f'partseg needs {name}>={low}' + (f',<{high}' if high else '') +
                                  f' but {name} {found} is installed; install it with: {hint}')
