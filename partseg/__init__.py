"""partseg: unsupervised object part segmentation on MMEngine."""
from .utils.dependency import check_dependencies
from .version import __version__

check_dependencies()

__all__ = ['__version__']
