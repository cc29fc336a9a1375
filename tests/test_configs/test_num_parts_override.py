"""K is set in one place (issue 18): ``--cfg-options model.num_parts=8`` on the shipped K = 4
configs builds a K = 8 model whose every K-dependent part follows, and it trains a step.

The override is the README's own example, read the way ``tools/train.py`` reads it
(:func:`partseg.utils.cli.load_config`); the step runs on two tiny random images.
"""
import argparse
import os.path as osp
import sys
import warnings

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import DefaultScope

from partseg.registry import MODELS
from partseg.structures import PartDataSample
from partseg.utils.cli import add_cfg_options_argument, load_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:  # the SCOPS plugin's `projects` package
    sys.path.insert(0, ROOT)
# tools/train.py configs/dispart/synthetic_k4.py --cfg-options train_cfg.max_iters=200
# model.num_parts=8, parsed by the same --cfg-options argument as the tool's
README_OVERRIDE = ['train_cfg.max_iters=200', 'model.num_parts=8']


def overridden(config):
    parser = argparse.ArgumentParser()
    add_cfg_options_argument(parser)
    options = parser.parse_args(['--cfg-options'] + README_OVERRIDE).cfg_options
    cfg = load_config(osp.join(ROOT, config), options)
    assert cfg.train_cfg.max_iters == 200 and cfg.model.num_parts == 8
    return cfg


def build(cfg):
    if 'custom_imports' in cfg:
        __import__(cfg.custom_imports['imports'][0])
    with warnings.catch_warnings(), DefaultScope.overwrite_default_scope('partseg'):
        warnings.simplefilter('ignore', UserWarning)
        return MODELS.build(cfg.model)


def batch(size, num=2):
    torch.manual_seed(0)
    return dict(
        inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8) for _ in range(num)],
        data_samples=[PartDataSample(metainfo=dict(img_shape=(size, size))) for _ in range(num)])


def finite(log_vars):
    assert log_vars and all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())


def test_dispart_readme_override_trains_with_k8():
    model = build(overridden('configs/dispart/synthetic_k4.py'))
    assert model.num_parts == 8 and model.part_head.out_channels == 9
    assert model.classification_loss.weight.shape == (8, model.appearance_encoder.out_channels)
    model.train()
    finite(model.train_step(batch(32), OptimWrapper(torch.optim.Adam(model.parameters()))))
    with torch.no_grad():
        assert model.eval().part_logits(torch.zeros(1, 3, 32, 32)).shape[1] == 9


def test_ganseg_readme_override_trains_with_k8():
    model = build(overridden('configs/ganseg/synthetic_k4.py'))
    assert model.num_parts == 8 and int(model.part_count) == 8
    wrappers = OptimWrapperDict(
        generator=OptimWrapper(torch.optim.Adam(model.generator.parameters())),
        discriminator=OptimWrapper(torch.optim.Adam(model.discriminator.parameters())))
    finite(model.train().train_step(batch(32), wrappers))
    with torch.no_grad():
        out = model.generator.eval()(model.generator.sample_noise(1, torch.device('cpu')))
    assert out['masks'].shape[1] == 9


def test_scops_readme_override_trains_with_k8():
    model = build(overridden('projects/scops/configs/scops_synthetic_k4.py'))
    assert model.num_parts == 8 and model.part_head.out_channels == 9
    assert model.part_basis.shape[0] == 8
    model.train()
    finite(model.train_step(batch(32), OptimWrapper(torch.optim.Adam(model.parameters()))))


def test_a_second_k_that_contradicts_names_every_key():
    cfg = load_config(osp.join(ROOT, 'configs/dispart/synthetic_k4.py'))
    cfg.model.classification_loss.num_classes = 4
    cfg.model.num_parts = 8
    with pytest.raises(ValueError) as error:
        build(cfg)
    message = str(error.value)
    assert '\n' not in message
    assert 'model.classification_loss.num_classes=4 contradicts model.num_parts=8' in message
    assert 'remove model.classification_loss.num_classes' in message

    cfg = load_config(osp.join(ROOT, 'configs/ganseg/synthetic_k4.py'))
    cfg.model.generator.num_parts = 4
    cfg.model.num_parts = 8
    with pytest.raises(
            ValueError,
            match='model.num_parts=8 contradicts '
            'model.generator.num_parts=4: set K once, with model.num_parts'):
        build(cfg)
