"""The data pipeline that prepares a user's image as a config's test pipeline prepares its data."""
import copy
from typing import List

from mmengine.config import Config
from mmengine.dataset import Compose

from partseg.registry import TRANSFORMS

__all__ = ['DROPPED_TRANSFORMS', 'inference_pipeline_cfg', 'build_inference_pipeline']

#: Test-pipeline transforms that cannot run on an unannotated image, with the reason; inference
#: leaves them out (``CropToBBox``: give images already cropped around the object).
DROPPED_TRANSFORMS = {
    'CropToBBox': 'needs a bounding box annotation',
    'LoadFgMask': 'loads a ground-truth foreground mask',
    'SetLandmarkNorm': 'needs ground-truth landmarks',
    'LoadAnnotations': 'loads ground-truth annotations',
    'RandomFlipParts': 'a random training augmentation',
    'RandomResizedCropParts': 'a random training augmentation',
}
#: Image loaders a test pipeline may start with; inference uses ``LoadPartImage`` instead, which
#: reads ``img_path`` or checks an in-memory ``img``.
LOADERS = ('LoadPartImage', 'LoadImageFromFile')
#: Transforms that bring every image to one size: with one, the loader accepts images of any size.
RESIZES = ('ResizeParts', 'Resize')


def _type_name(transform: dict) -> str:
    name = transform.get('type', '')
    return name.rsplit('.', 1)[-1] if isinstance(name, str) else getattr(name, '__name__', '')


def _test_pipeline(cfg: Config) -> List[dict]:
    """The pipeline of the config's test dataset (the first of a ``ConcatDataset``)."""
    loader = cfg.get('test_dataloader')
    dataset = loader.get('dataset') if isinstance(loader, dict) else None
    while isinstance(dataset, dict) and 'pipeline' not in dataset:
        inner = dataset.get('dataset') or (dataset.get('datasets') or [None])[0]
        dataset = inner
    if isinstance(dataset, dict):
        return list(dataset['pipeline'])
    if cfg.get('test_pipeline'):
        return list(cfg.test_pipeline)
    raise KeyError(f'config {cfg.filename}: found no test_dataloader.dataset.pipeline nor '
                   f'test_pipeline to prepare images with; set inference_pipeline in the config')


def inference_pipeline_cfg(cfg: Config) -> List[dict]:
    """Transform configs that turn ``{'img_path'}`` or ``{'img'}`` into the model's inputs.

    The config's ``inference_pipeline`` if it sets one, otherwise its test pipeline with the first
    transform an image loader (``LoadPartImage``, keeping its arguments if it was one already) and
    without the transforms of :data:`DROPPED_TRANSFORMS`. When the pipeline resizes
    (:data:`RESIZES`), the loader accepts images of any size (``min_size=1`` unless set).
    """
    if cfg.get('inference_pipeline') is not None:
        return [copy.deepcopy(t) for t in cfg.inference_pipeline]
    transforms = [copy.deepcopy(t) for t in _test_pipeline(cfg)]
    kept = [t for t in transforms if _type_name(t) not in DROPPED_TRANSFORMS]
    loader = dict(type='LoadPartImage')
    if kept and _type_name(kept[0]) in LOADERS:
        first = kept.pop(0)
        if _type_name(first) == 'LoadPartImage':
            loader = first
    if any(_type_name(t) in RESIZES for t in kept):
        # a small image is resized like any other; only one that does not decode is refused
        loader.setdefault('min_size', 1)
    return [loader] + kept


def build_inference_pipeline(cfg: Config) -> Compose:
    """:func:`inference_pipeline_cfg` built into a callable pipeline."""
    return Compose([TRANSFORMS.build(t) for t in inference_pipeline_cfg(cfg)])
