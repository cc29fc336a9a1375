"""Helpers for the real-dataset tests: fixture files, base configs, fake predictions, metrics."""
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from PIL import Image

from partseg.registry import DATASETS, METRICS

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def partseg_scope():
    """Build configs under default_scope='partseg'; leave no DefaultScope behind."""
    DefaultScope._instance_dict.clear()
    DefaultScope.get_instance('test_real_datasets', scope_name='partseg')
    yield
    DefaultScope._instance_dict.clear()


def write_image(path, size_wh, color=(90, 140, 60), mode='RGB', fmt=None):
    """A flat image of ``size_wh`` = (W, H) at ``path`` (folders made); returns the path."""
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    Image.new(mode, tuple(size_wh), color).save(str(path), format=fmt)
    return str(path)


def write_array(path, array, fmt='PNG'):
    """Save an (H, W) or (H, W, 3) uint8 array losslessly (PNG bytes, whatever the suffix)."""
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(str(path), format=fmt)
    return str(path)


def write_text(path, lines):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), 'w') as f:
        f.writelines(f'{line}\n' for line in lines)
    return str(path)


def _replace_root(node, old, new):
    if isinstance(node, dict):
        return {k: _replace_root(v, old, new) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_replace_root(v, old, new) for v in node)
    if isinstance(node, str) and node.startswith(old):
        return new + node[len(old):]
    return node


def load_base(name, data_root):
    """``configs/_base_/datasets/<name>.py`` with its ``data_root`` prefix moved to
    ``data_root``."""
    cfg = Config.fromfile(str(REPO_ROOT / 'configs' / '_base_' / 'datasets' / f'{name}.py'))
    return Config(_replace_root(cfg.to_dict(), cfg.data_root, str(data_root)))


def _resized(node, size):
    if isinstance(node, dict):
        node = {k: _resized(v, size) for k, v in node.items()}
        if node.get('type') == 'ResizeParts':
            node['scale'] = (size, size)
        return node
    if isinstance(node, (list, tuple)):
        return type(node)(_resized(v, size) for v in node)
    return node


def resize_to(cfg, size):
    """The config with every ``ResizeParts`` scale set to ``size`` (CPU-sized tests)."""
    return Config(_resized(cfg.to_dict(), size))


def _no_serialization(node):
    """Every dataset dict (one with a ``data_root``) gets ``serialize_data=False``: serialising
    calls ``gc.collect()``, ~0.3 s per dataset once torch is imported."""
    if isinstance(node, dict):
        node = {k: _no_serialization(v) for k, v in node.items()}
        if 'data_root' in node:
            node['serialize_data'] = False
        return node
    if isinstance(node, (list, tuple)):
        return type(node)(_no_serialization(v) for v in node)
    return node


def build_dataset(dataset_cfg):
    """Build a dataset config (without serialisation, see :func:`_no_serialization`)."""
    cfg = dataset_cfg.to_dict() if hasattr(dataset_cfg, 'to_dict') else dict(dataset_cfg)
    return DATASETS.build(_no_serialization(cfg))


def part_logits(points_xy, height, width):
    """(K+1, H, W) float64 logits whose softmax puts part k on the pixel containing point k-1
    (mass 1 - O(e^-50)), so its centroid is that pixel's centre; background wins elsewhere."""
    logits = torch.full((len(points_xy) + 1, height, width), -50.0, dtype=torch.float64)
    logits[0] = 0.0
    for k, (x, y) in enumerate(points_xy, start=1):
        logits[k, int(np.floor(y)), int(np.floor(x))] = 50.0
    return logits


def predict_parts(sample, points_xy):
    """Give a packed PartDataSample a model prediction with part k at ``points_xy[k-1]``."""
    h, w = sample.img_shape
    logits = part_logits(points_xy, h, w)
    sample.seg_logits = PixelData(data=logits)
    sample.pred_sem_seg = PixelData(data=logits.argmax(0, keepdim=True))
    return sample


def predict_foreground(sample, fg):
    """Give a packed PartDataSample a prediction whose foreground (label 1) is ``fg`` (H, W)."""
    pred = torch.as_tensor(np.asarray(fg, dtype=np.int64))[None]  # (H, W) -> (1, H, W)
    sample.pred_sem_seg = PixelData(data=pred)
    return sample


def evaluate(metric_cfgs, samples):
    """Build the config's metrics, process every sample (as the Evaluator does), evaluate."""
    results = {}
    for metric_cfg in metric_cfgs:
        metric = METRICS.build(metric_cfg)
        for sample in samples:
            metric.process(None, [sample.to_dict()])
        results.update(metric.evaluate(len(samples)))
    return results


@pytest.fixture
def helpers():
    """The helpers above (test modules cannot import this conftest by name under importlib)."""
    return SimpleNamespace(
        write_image=write_image,
        write_array=write_array,
        write_text=write_text,
        load_base=load_base,
        resize_to=resize_to,
        build_dataset=build_dataset,
        part_logits=part_logits,
        predict_parts=predict_parts,
        predict_foreground=predict_foreground,
        evaluate=evaluate)
