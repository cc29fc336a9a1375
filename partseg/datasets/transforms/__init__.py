from .crop_to_bbox import CropToBBox
from .load_fg_mask import LoadFgMask
from .load_part_image import LoadPartImage
from .pack_part_inputs import PackPartInputs
from .random_flip_parts import RandomFlipParts
from .random_resized_crop_parts import RandomResizedCropParts
from .resize_parts import ResizeParts
from .set_landmark_norm import SetLandmarkNorm

__all__ = [
    'CropToBBox', 'LoadFgMask', 'LoadPartImage', 'PackPartInputs', 'RandomFlipParts',
    'RandomResizedCropParts', 'ResizeParts', 'SetLandmarkNorm'
]
