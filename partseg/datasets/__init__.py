
from . import transforms  # noqa: F401  (registers the TRANSFORMS)
from .image_folder import ImageFolderDataset
from .synthetic_parts import SyntheticPartsDataset
