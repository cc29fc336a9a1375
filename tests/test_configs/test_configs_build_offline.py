"""Every config's model builds offline and unmodified (issue 21 item 3): pretrained weights named
in a config (the VGG-19 of the perceptual loss and of SCOPS, the ImageNet ResNet-50 of the GANSeg
segmenter) are read by ``init_weights`` when training starts, never while the model is built.

Built on the meta device (no memory, no forward) with the network blocked and an empty torch hub
cache, so a build that reads or downloads anything fails here.
"""
import os.path as osp
import socket
import sys
import warnings
from glob import glob

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from partseg.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(path, ROOT) for pattern in ('configs/*/*.py', 'projects/*/configs/*.py')
    for path in glob(osp.join(ROOT, pattern)) if '_base_' not in path)
if ROOT not in sys.path:  # plugins under projects/ are imported through custom_imports
    sys.path.insert(0, ROOT)


@pytest.fixture
def offline(monkeypatch, tmp_path):

    def refuse(*args, **kwargs):
        raise OSError('network disabled in this test')

    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.setattr(socket, 'getaddrinfo', refuse)
    monkeypatch.setattr(socket.socket, 'connect', refuse)
    return tmp_path / 'torch'


def test_the_list_covers_every_method():
    assert {path.split('/')[1] if path.startswith('configs') else 'scops'
            for path in CONFIGS} == {'dispart', 'ganseg', 'scops'}
    assert len(CONFIGS) >= 30


@pytest.mark.parametrize('config', CONFIGS)
def test_model_builds_offline_without_reading_weights(config, offline):
    cfg = Config.fromfile(osp.join(ROOT, config))
    with warnings.catch_warnings(), torch.device('meta'), \
            DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'partseg')):
        warnings.simplefilter('ignore')
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    assert not offline.exists()  # nothing was downloaded into (or looked up in) the hub cache
