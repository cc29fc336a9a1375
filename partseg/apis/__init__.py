"""The user-facing API: segment your own images with a trained model, export the segmenter."""
from .image_inputs import collect_image_inputs, expand_image_path, is_image_file
from .inference import check_segments_images, inference_model, init_model
from .inference_pipeline import build_inference_pipeline, inference_pipeline_cfg
from .part_seg_result import PartSegResult

__all__ = [
    'init_model', 'inference_model', 'PartSegResult', 'collect_image_inputs', 'expand_image_path',
    'is_image_file', 'build_inference_pipeline', 'inference_pipeline_cfg', 'check_segments_images'
]
