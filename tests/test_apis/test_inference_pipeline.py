"""partseg.apis.inference_pipeline: a test pipeline made fit for unlabelled images."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from partseg.apis import build_inference_pipeline, inference_pipeline_cfg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def make_cfg(pipeline=None, **extra):
    dataset = dict(type='ConcatDataset', datasets=[dict(type='X', pipeline=pipeline or [])])
    return Config(dict(test_dataloader=dict(batch_size=2, dataset=dataset), **extra))


def types(transforms):
    return [t['type'] for t in transforms]


def test_annotation_transforms_are_dropped_and_the_loader_kept():
    cfg = make_cfg([
        dict(type='LoadPartImage', min_size=8),
        dict(type='LoadFgMask', rule='label'),
        dict(type='CropToBBox', padding=0.1),
        dict(type='ResizeParts', scale=(32, 24)),
        dict(type='SetLandmarkNorm', mode='interocular', eye_indices=(0, 1)),
        dict(type='PackPartInputs'),
    ])
    pipeline = inference_pipeline_cfg(cfg)
    assert types(pipeline) == ['LoadPartImage', 'ResizeParts', 'PackPartInputs']
    assert pipeline[0]['min_size'] == 8 and pipeline[1]['scale'] == (32, 24)


def test_other_loaders_are_replaced_and_missing_loader_added():
    cfg = make_cfg([dict(type='mmseg.LoadImageFromFile'), dict(type='PackPartInputs')])
    assert types(inference_pipeline_cfg(cfg)) == ['LoadPartImage', 'PackPartInputs']
    cfg = make_cfg([dict(type='ResizeParts', scale=16), dict(type='PackPartInputs')])
    assert types(inference_pipeline_cfg(cfg)) == ['LoadPartImage', 'ResizeParts', 'PackPartInputs']


def test_inference_pipeline_key_overrides_and_top_level_test_pipeline_is_a_fallback():
    own = [
        dict(type='LoadPartImage'),
        dict(type='ResizeParts', scale=8),
        dict(type='PackPartInputs')
    ]
    assert inference_pipeline_cfg(make_cfg([dict(type='PackPartInputs')],
                                           inference_pipeline=own)) == own
    cfg = Config(dict(test_dataloader=None, test_pipeline=[dict(type='PackPartInputs')]))
    assert types(inference_pipeline_cfg(cfg)) == ['LoadPartImage', 'PackPartInputs']
    with pytest.raises(KeyError, match='inference_pipeline'):
        inference_pipeline_cfg(Config(dict(test_dataloader=None)))


def test_dispart_config_pipeline_runs_on_an_array():
    cfg = Config.fromfile(osp.join(ROOT, 'tests', 'data', 'configs', 'dispart_tiny.py'))
    with DefaultScope.overwrite_default_scope('partseg'):
        pipeline = build_inference_pipeline(cfg)
    image = np.zeros((40, 48, 3), np.uint8)
    packed = pipeline(dict(img=image))
    assert tuple(packed['inputs'].shape) == (3, 32, 32)  # ResizeParts(32, 32) of the config
    assert packed['data_samples'].metainfo['ori_shape'] == (40, 48)
    assert packed['data_samples'].metainfo['img_shape'] == (32, 32)
