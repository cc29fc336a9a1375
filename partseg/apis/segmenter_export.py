"""Export a segmenter to ONNX or TorchScript and check the exported model against PyTorch.

The exported model is :class:`~partseg.apis.part_logits_wrapper.PartLogitsWrapper`: input
``images`` (B, 3, H, W) float32 RGB with values in [0, 255] (normalisation inside), output
``part_logits`` (B, K+1, H, W), channel 0 the background; batch, height and width are dynamic.
ONNX goes through PyTorch's TorchScript-based exporter (``dynamo=False``), which needs only the
``onnx`` package; the check runs it with ``onnxruntime``.
"""
import json
import warnings
from typing import List, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.model import BaseModel

from .inference_pipeline import inference_pipeline_cfg
from .part_logits_wrapper import PartLogitsWrapper

__all__ = [
    'EXPORT_FORMATS', 'INPUT_NAME', 'OUTPUT_NAME', 'default_input_shape', 'export_segmenter',
    'run_exported', 'check_exported', 'sample_inputs'
]

EXPORT_FORMATS = ('onnx', 'torchscript')
INPUT_NAME, OUTPUT_NAME = 'images', 'part_logits'
INPUT_CONTRACT = ('images: (B, 3, H, W) float32 RGB, values in [0, 255] (the model normalises); '
                  'part_logits: (B, K+1, H, W), channel 0 background, softmax over channels = '
                  'part maps')


def default_input_shape(cfg: Config) -> Tuple[int, int]:
    """(H, W) the model sees: the pipeline's ``ResizeParts`` scale, else ``image_size``."""
    for transform in inference_pipeline_cfg(cfg):
        if str(transform.get('type', '')).rsplit('.', 1)[-1] == 'ResizeParts':
            scale = transform['scale']
            width, height = (scale, scale) if isinstance(scale, int) else scale
            return int(height), int(width)
    size = cfg.get('image_size')
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size, size
    raise KeyError(f'config {cfg.filename}: its test pipeline has no ResizeParts and it sets no '
                   f'image_size; give the export input size with --shape H W')


def sample_inputs(shape: Tuple[int, int], seed: int = 0) -> List[torch.Tensor]:
    """Random RGB batches in [0, 255]: 2 images of ``shape`` (H, W), 1 of about 1.5x its size."""
    h, w = shape
    generator = torch.Generator().manual_seed(seed)
    sizes = ((2, h, w), (1, h + (h + 1) // 2, w + (w + 3) // 4))
    return [
        torch.randint(0, 256, (b, 3, hh, ww), generator=generator).float() for b, hh, ww in sizes
    ]


def _metadata(num_parts: int) -> dict:
    return {'partseg.num_parts': str(num_parts), 'partseg.contract': INPUT_CONTRACT}


def export_segmenter(model: BaseModel,
                     fmt: str,
                     out_file: str,
                     shape: Tuple[int, int],
                     opset: int = 17) -> PartLogitsWrapper:
    """Trace ``model`` wrapped in :class:`PartLogitsWrapper` at input ``shape`` (H, W) to a file.

    Returns the wrapper (the PyTorch reference for :func:`check_exported`).
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f'format must be one of {", ".join(EXPORT_FORMATS)}, got {fmt!r}')
    wrapper = PartLogitsWrapper(model.cpu().eval()).eval()
    example = sample_inputs(shape)[0][:1]  # (1, 3, H, W)
    with torch.no_grad():
        num_parts = wrapper(example).shape[1] - 1
    with warnings.catch_warnings(), torch.no_grad():
        # shape checks of the models' forward (DisPart's minimum size) are constants of the trace;
        # the TorchScript-based ONNX exporter is chosen on purpose (no onnxscript dependency);
        # torch.jit is deprecated upstream but still the way to get a TorchScript file
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.simplefilter('ignore', DeprecationWarning)
        warnings.simplefilter('ignore', FutureWarning)
        if fmt == 'onnx':
            axes = {0: 'batch', 2: 'height', 3: 'width'}
            torch.onnx.export(
                wrapper, (example, ),
                out_file,
                dynamo=False,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={
                    INPUT_NAME: axes,
                    OUTPUT_NAME: axes
                })
            _add_onnx_metadata(out_file, _metadata(num_parts))
        else:
            traced = torch.jit.trace(wrapper, example, check_trace=False)
            torch.jit.save(
                traced, out_file, _extra_files={'partseg.json': json.dumps(_metadata(num_parts))})
    return wrapper


def _add_onnx_metadata(path: str, metadata: dict) -> None:
    import onnx
    proto = onnx.load(path)
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, path)


def run_exported(fmt: str, path: str, images: torch.Tensor) -> np.ndarray:
    """Run an exported file on (B, 3, H, W) images: ONNX with onnxruntime, TorchScript with jit."""
    if fmt == 'onnx':
        try:
            import onnxruntime
        except ImportError:
            raise ImportError('checking an ONNX export needs onnxruntime (pip install '
                              'onnxruntime), or skip the check with --no-check') from None
        session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])
        return session.run([OUTPUT_NAME], {INPUT_NAME: images.numpy()})[0]
    if fmt == 'torchscript':
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter('ignore', FutureWarning)  # torch.jit's deprecation notice
            return torch.jit.load(path, map_location='cpu')(images).numpy()
    raise ValueError(f'format must be one of {", ".join(EXPORT_FORMATS)}, got {fmt!r}')


def check_exported(wrapper: PartLogitsWrapper,
                   fmt: str,
                   path: str,
                   inputs: Sequence[torch.Tensor],
                   atol: float = 1e-4,
                   rtol: float = 1e-4) -> float:
    """Largest ``|exported - PyTorch|`` over ``inputs``; one-line ValueError above tolerance.

    The tolerance is elementwise ``atol + rtol * |PyTorch|`` (as :func:`numpy.allclose`).
    """
    worst = 0.0
    for images in inputs:
        with torch.no_grad():
            expected = wrapper(images).numpy()
        found = run_exported(fmt, path, images)
        if found.shape != expected.shape:
            raise ValueError(f'{path}: the exported model gives {found.shape} for an input of '
                             f'{tuple(images.shape)}, PyTorch {expected.shape}')
        diff = np.abs(found - expected)
        worst = max(worst, float(diff.max()))
        if not np.all(diff <= atol + rtol * np.abs(expected)):
            raise ValueError(f'{path}: the exported model differs from PyTorch by up to '
                             f'{float(diff.max()):.3g} on an input of {tuple(images.shape)} '
                             f'(tolerance {atol:g} + {rtol:g} x |PyTorch|)')
    return worst
