"""configs/dispart/*_official.py: the official DisPart code's model and each official config's
loss weights and schedule (configs/_base_/models/dispart_official.py, docs/dispart.md). Every
config builds its model offline and gives 16 x 16 part maps at 128 px."""
import copy
import functools
import os.path as osp
import re
import warnings
from glob import glob

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from partseg.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'dispart')
VGG19_URL = 'https://download.pytorch.org/models/vgg19-dcbb9e9d.pth'
OFFICIAL_LAYER_WEIGHTS = [1 / 0.25, 1 / 0.26, 1 / 1.4, 1 / 3.19, 1 / 2.54, 1 / 0.3]

# config -> (official weights (perceptual, foreground, background, ArcFace), batch, max_iters,
# milestones). CUB: the official CUB ARC config (60 images x dup 100 per epoch, 59 of its 60
# epochs train the part maps); VOC-sheep / DeepFashion: their official configs; the other rows
# take Table 1 read in the official order.
CUB = dict(iters=59 * 188, milestones=[15 * 188, 30 * 188, 45 * 188])
OFFICIAL = {
    'celeba_wild_k8_official': ((1.5, 1.5, 0.5, 1.0), 32, 42780, [21390]),
    'celeba_wild_k4_official': ((1.5, 1.5, 0.5, 1.0), 32, 42780, [21390]),
    'aflw_k8_official': ((1.5, 1.5, 0.5, 1.0), 32, 9510, [4755]),
    'cub1_k4_official': ((1.5, 1.5, 0.3, 1.0), 32, CUB['iters'], CUB['milestones']),
    'cub2_k4_official': ((1.5, 1.5, 0.3, 1.0), 32, CUB['iters'], CUB['milestones']),
    'cub3_k4_official': ((1.5, 1.5, 0.3, 1.0), 32, 59 * 182, [15 * 182, 30 * 182, 45 * 182]),
    'voc_sheep_k4_official': ((1.5, 2.0, 0.5, 0.1), 32, 30000, [15000]),
    'voc_car_k4_official': ((1.5, 1.0, 0.3, 0.1), 32, 30000, [15000]),
    'voc_bus_k4_official': ((1.5, 1.0, 0.5, 0.1), 32, 30000, [15000]),
    'voc_horse_k4_official': ((1.5, 3.0, 0.3, 0.1), 32, 30000, [15000]),
    'voc_aeroplane_k4_official': ((1.5, 3.0, 0.3, 0.1), 32, 30000, [15000]),
    'voc_motorbike_k4_official': ((1.0, 1.0, 0.3, 0.1), 32, 30000, [15000]),
    'voc_cow_k4_official': ((1.5, 2.0, 0.3, 0.1), 32, 30000, [15000]),
    'deepfashion_k9_official': ((1.5, 3.0, 0.5, 0.1), 24, 30000, [15000]),
}


@pytest.fixture(autouse=True)
def partseg_scope():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with DefaultScope.overwrite_default_scope('partseg'):
        yield
    torch.set_num_threads(threads)


@functools.lru_cache(maxsize=None)
def _parsed(name):
    return Config.fromfile(osp.join(CONFIG_DIR, f'{name}.py'))


def load(name):
    return copy.deepcopy(_parsed(name))


def test_every_official_config_is_listed():
    names = {osp.splitext(osp.basename(p))[0] for p in glob(osp.join(CONFIG_DIR, '*_official.py'))}
    assert names == set(OFFICIAL)
    # each has the paper-table twin it is named after
    for name in names:
        assert osp.isfile(osp.join(CONFIG_DIR, name[:-len('_official')] + '.py'))


@pytest.mark.parametrize('name', sorted(OFFICIAL))
def test_official_settings(name):
    (rec, fg, bg, arc), batch, max_iters, milestones = OFFICIAL[name]
    cfg = load(name)
    model = cfg.model
    k = int(re.fullmatch(r'.+_k(\d+)_official', name).group(1))
    assert model.num_parts == k and model.classification_loss.num_classes == k + 1
    # the official config's weights; the background loss doubles h^2, hence 2 x bg
    assert (model.reconstruction_loss.loss_weight, model.foreground_loss.loss_weight,
            model.background_loss.loss_weight,
            model.classification_loss.loss_weight) == pytest.approx((rec, fg, 2 * bg, arc))
    # SCOPSP(downsamplelast=True, h_channel=32): no stem pool, layer3 stride 2, x8 decoder
    for enc, depth in ((model.shape_encoder, 18), (model.appearance_encoder, 34)):
        assert (enc.depth, tuple(enc.strides), enc.stem_pool, enc.init_std) == (depth, (1, 2, 2),
                                                                                False, None)
    assert tuple(model.decoder.upsample_blocks) == (1, 3, 5)
    assert tuple(model.decoder.channels) == (256, 256, 128, 128, 64, 64, 32)
    assert model.coordinate_channels.align_corners is True
    # official losses
    perceptual = model.reconstruction_loss
    assert perceptual.pretrained == VGG19_URL
    assert perceptual.layer_weights == pytest.approx(OFFICIAL_LAYER_WEIGHTS)
    assert (perceptual.mask_reduction, perceptual.multiply_by_distance_sum,
            perceptual.weight_update_interval) == ('mean', True, 99)
    arcface = model.classification_loss
    assert (arcface.s, arcface.m, arcface.target_fallback,
            arcface.skip_background_row) == (30.0, 0.5, True, True)
    assert (model.foreground_loss.part_reduction, model.foreground_loss.align_corners) == ('sum',
                                                                                           True)
    assert (model.background_loss.border_margin, model.background_loss.align_corners) == (0.01,
                                                                                          True)
    assert (model.classify_background, model.masked_reconstruction, model.view_batching,
            model.per_view_losses, model.init_std) == (True, True, 'separate', True, None)
    # images in [0, 1] as the official ToTensor + Normalize(0, 1)
    assert model.data_preprocessor.mean == [0.0] * 3 and model.data_preprocessor.std == [255.0] * 3
    # Adam lr 1e-4, weight decay 5e-4; StepLR(15 epochs, 0.3) as iteration milestones
    assert cfg.train_dataloader.batch_size == batch
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.weight_decay) == ('Adam', 1e-4, 5e-4)
    assert cfg.train_cfg.max_iters == max_iters
    assert [(s.type, s.milestones, s.gamma)
            for s in cfg.param_scheduler] == [('MultiStepLR', milestones, 0.3)]


@pytest.mark.parametrize('name', sorted(OFFICIAL))
def test_runtime_base_is_the_default_runtime(name):
    with open(osp.join(CONFIG_DIR, f'{name}.py')) as f:
        text = f.read()
    assert 'default_runtime_cpu_malloc' not in text
    assert 'default_runtime.py' in text or "_base_ = './" in text


@pytest.mark.parametrize('name', sorted(OFFICIAL))
def test_model_builds_offline(name):
    cfg = load(name)
    k = cfg.model.num_parts
    cfg.model.reconstruction_loss.pretrained = None  # no download
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # the random-VGG warning
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
            logits = model.part_logits(torch.empty(2, 3, 128, 128))
            maps, feats = model.encode(torch.empty(2, 3, 128, 128))
            recon = model.render(feats, maps, (128, 128))
    assert logits.shape == (2, k + 1, 16, 16)  # the official 16 x 16 part maps at 128 px
    assert feats.shape == (2, k + 1, 256)
    assert recon.shape == (2, 3, 128, 128)


@pytest.mark.parametrize('name, options, size', [
    ('celeba_wild_k8', [
        'model.shape_encoder.strides=(1,2,2)', 'model.appearance_encoder.strides=(1,2,2)',
        'model.decoder.upsample_blocks=(1,3,5)'
    ], 16),
    ('celeba_wild_k8_official', [
        'model.shape_encoder.strides=(1,2,1)', 'model.appearance_encoder.strides=(1,2,1)',
        'model.decoder.upsample_blocks=(1,3)'
    ], 32),
])
def test_resolution_override_of_docs_model_zoo(name, options, size):
    """The one-line --cfg-options of docs/model_zoo.md switch the part-map resolution."""
    from partseg.utils.cli import DictAction, load_config
    with open(osp.join(ROOT, 'docs', 'model_zoo.md')) as f:
        zoo = f.read()
    line = f'python tools/train.py configs/dispart/{name}.py --cfg-options ' + ' '.join(
        f'"{option}"' for option in options)
    assert line in zoo
    action = DictAction(option_strings=['--cfg-options'], dest='cfg_options')
    namespace = type('Namespace', (), {})()
    action(None, namespace, options)
    parsed = namespace.cfg_options
    cfg = load_config(osp.join(CONFIG_DIR, f'{name}.py'), parsed)
    cfg.model.reconstruction_loss.pretrained = None
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
            maps, feats = model.encode(torch.empty(1, 3, 128, 128))
            recon = model.render(feats, maps, (128, 128))
    assert maps.shape[-2:] == (size, size) and recon.shape[-2:] == (128, 128)
