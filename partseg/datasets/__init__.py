from . import transforms  # noqa: F401  (registers the TRANSFORMS)
from .aflw import AFLWDataset
from .celeba import CelebADataset
from .cub import CUBDataset
from .deepfashion import DeepFashionDataset
from .flowers import FlowersDataset
from .generated_pairs_dataset import GeneratedPairsDataset
from .image_folder import ImageFolderDataset
from .synthetic_parts import SyntheticPartsDataset
from .taichi import TaichiDataset
from .voc_part import VOCPartDataset

__all__ = [
    'AFLWDataset', 'CelebADataset', 'CUBDataset', 'DeepFashionDataset', 'FlowersDataset',
    'GeneratedPairsDataset', 'ImageFolderDataset', 'SyntheticPartsDataset', 'TaichiDataset',
    'VOCPartDataset'
]
