"""Segment your own images: ``init_model`` builds a trained segmenter, ``inference_model`` runs it.

Works for every model that fills the data samples' ``seg_logits`` in ``predict`` (the model
contract of docs/design.md): partseg's part segmentors (DisPart) and GANSeg's stage-2 mmseg
``EncoderDecoder``.
"""
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.utils import import_modules_from_strings

from partseg.engine.checkpoint import safe_load
from partseg.registry import MODELS
from partseg.utils.checks import check_int
from partseg.utils.cli import UserError, check_state_dict_fits, load_config, stage2_config_hint
from .image_inputs import collect_image_inputs
from .inference_pipeline import build_inference_pipeline
from .part_seg_result import PartSegResult

__all__ = ['init_model', 'inference_model', 'check_segments_images']


def _device(device: Union[str, torch.device]) -> torch.device:
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise ValueError(f'device {device} requested but CUDA is not available here; use '
                         f"device='cpu'")
    return device


def _state_dict(checkpoint: dict, filename: str) -> Dict[str, torch.Tensor]:
    """The weights of a checkpoint: MMEngine's ``{'meta', 'state_dict', ...}`` or a bare dict."""
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{filename} is not a partseg/MMEngine checkpoint (it holds a '
                         f'{type(checkpoint).__name__}, not a dict of weights)')
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, dict) or not all(
            isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ValueError(f'{filename} is not a partseg/MMEngine checkpoint: its state_dict is not '
                         f'a dict of tensors')
    return OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v) for k, v in state_dict.items())


def check_segments_images(cfg: Config) -> None:
    """Refuse, in one line, a config whose model generates images instead of segmenting them.

    A model with a ``generate`` method (GANSeg's stage 1) ignores its inputs: its ``predict``
    returns the parts of freshly generated samples, not of the user's images. Its images are
    segmented by the segmenter trained on its samples, the stage-2 config.
    """
    model_type = cfg.model.get('type') if isinstance(cfg.get('model'), dict) else None
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'partseg')):
        model_class = MODELS.get(model_type) if isinstance(model_type, str) else model_type
    if callable(getattr(model_class, 'generate', None)):
        name = getattr(model_class, '__name__', model_type)
        raise UserError(f'config {cfg.filename} builds {name}, an image generator (stage 1): it '
                        f'does not segment given images; use the segmenter trained on its '
                        f'samples, {stage2_config_hint(cfg.filename)}, and its checkpoint')


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None) -> BaseModel:
    """Build the model of ``config``, load ``checkpoint``'s weights, move it to ``device``, eval.

    Args:
        config: a config file or a :class:`~mmengine.config.Config`.
        checkpoint: a checkpoint file (MMEngine's ``{'meta', 'state_dict'}`` or a bare state
            dict), loaded weights-only (:func:`partseg.engine.checkpoint.safe_load`); None keeps
            the freshly initialised weights (with a warning).
        device: where the model runs, e.g. ``'cpu'`` or ``'cuda:0'``.
        cfg_options: overrides of config entries, as ``--cfg-options`` of the tools.

    Returns:
        The model in eval mode; ``model.cfg`` holds the config (its test pipeline prepares the
        images of :func:`inference_model`), ``model.dataset_meta`` the checkpoint's dataset
        metainfo (or None).

    Raises:
        FileNotFoundError, ValueError, UserError: one-line messages naming the file — a missing
        or damaged checkpoint, a checkpoint of another method or another K, a config of an image
        generator (GANSeg stage 1: use its stage-2 segmenter config).
    """
    if isinstance(config, (str, Path)):
        cfg = load_config(str(config), cfg_options)
    elif isinstance(config, Config):
        cfg = config.copy()
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    else:
        raise TypeError(f'config must be a file path or a Config, got {type(config).__name__}')
    if 'model' not in cfg:
        raise KeyError(f'config {cfg.filename} has no model')
    device = _device(device)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    check_segments_images(cfg)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'partseg')):
        model = MODELS.build(cfg.model)
    meta = {}
    if checkpoint is None:
        warnings.warn(f'init_model: no checkpoint given for {cfg.filename}; the model keeps its '
                      f'random initial weights')
    else:
        loaded = safe_load(checkpoint, map_location='cpu')
        state_dict = _state_dict(loaded, str(checkpoint))
        check_state_dict_fits(model, state_dict, str(checkpoint))
        model.load_state_dict(state_dict, strict=True)
        meta = loaded.get('meta') or {}
    model.cfg = cfg
    model.dataset_meta = meta.get('dataset_meta') if isinstance(meta, dict) else None
    return model.to(device).eval()


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


@torch.no_grad()
def _predict(model: BaseModel, packed: List[dict]) -> List[torch.Tensor]:
    """Packed pipeline outputs of equal size -> (K+1, H, W) part probabilities at each ori_shape."""
    batch = dict(
        inputs=[p['inputs'] for p in packed], data_samples=[p['data_samples'] for p in packed])
    probs = []
    for sample in model.test_step(batch):
        logits = sample.seg_logits.data.float()  # (K+1, h, w)
        ori_shape = tuple(sample.metainfo.get('ori_shape', logits.shape[-2:]))[:2]
        if tuple(logits.shape[-2:]) != ori_shape:
            # (K+1, h, w) -> (K+1, H, W), the image's original size
            logits = F.interpolate(
                logits[None], size=ori_shape, mode='bilinear', align_corners=False)[0]
        probs.append(logits.softmax(0))
    return probs


def inference_model(model: BaseModel,
                    images,
                    batch_size: int = 4) -> Union[PartSegResult, List[PartSegResult]]:
    """Segment ``images`` into parts with a model of :func:`init_model`.

    Args:
        model: from :func:`init_model` (``model.cfg`` gives the pipeline).
        images: an image file, a folder (its image files, sorted; other files are skipped with a
            warning), a glob pattern, an (H, W, 3) uint8 RGB array, or a list of these.
        batch_size: images per forward pass; images are batched only with others of the same
            size after the pipeline, so results do not depend on the batching.

    Returns:
        A :class:`PartSegResult` for one image file or one array, else a list of them in input
        order (a folder's or pattern's images sorted by path). Part maps, labels, centroids and
        foreground are at each image's original size.
    """
    if not hasattr(model, 'cfg'):
        raise ValueError('model has no cfg: build it with partseg.apis.init_model')
    check_int(batch_size, 'batch_size', 1)
    inputs, single = collect_image_inputs(images)
    with DefaultScope.overwrite_default_scope(model.cfg.get('default_scope', 'partseg')):
        pipeline = build_inference_pipeline(model.cfg)
    results: List[PartSegResult] = []
    for chunk in _chunks(inputs, batch_size):
        packed = [pipeline(dict(item)) for item in chunk]
        probs: List[Optional[torch.Tensor]] = [None] * len(packed)
        by_size: Dict[tuple, List[int]] = {}
        for index, item in enumerate(packed):
            by_size.setdefault(tuple(item['inputs'].shape), []).append(index)
        for indices in by_size.values():
            for index, prob in zip(indices, _predict(model, [packed[i] for i in indices])):
                probs[index] = prob
        results.extend(
            PartSegResult.from_probs(prob, item.get('img_path'))
            for prob, item in zip(probs, chunk))
    return results[0] if single else results
