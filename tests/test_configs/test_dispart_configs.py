"""configs/dispart: one config per table row of Liu et al. 2021. Every config loads, builds its
model (on the meta device), names registered datasets and metrics, and carries the paper's K,
appendix Table 1 loss weights, 128-px inputs, batch 32, Adam lr 1e-4 and 30 epochs."""
import copy
import functools
import math
import os.path as osp
import re
import warnings
from glob import glob

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from partseg.registry import DATASETS, METRICS, MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'dispart')
VGG19_URL = 'https://download.pytorch.org/models/vgg19-dcbb9e9d.pth'

# Appendix Table 1 as printed: row -> (allowed K, lambda_rec, lambda_cls, lambda_fg, lambda_bg)
PAPER_TABLE1 = {
    'CelebA': ((4, 8), 1.5, 1.5, 0.5, 1.0),
    'AFLW': ((4, 8), 1.5, 1.5, 0.5, 1.0),
    'CUB-1/2/3': ((4, ), 1.5, 1.5, 0.3, 1.0),
    'VOC-car': ((4, ), 1.5, 1.0, 0.3, 0.1),
    'VOC-bus': ((4, ), 1.5, 1.0, 0.5, 0.1),
    'VOC-horse': ((4, ), 1.5, 3.0, 0.3, 0.1),
    'VOC-aero': ((4, ), 1.5, 3.0, 0.3, 0.1),
    'VOC-motor': ((4, ), 1.0, 1.0, 0.3, 0.1),
    'VOC-cow': ((4, ), 1.5, 2.0, 0.3, 0.1),
    'VOC-sheep': ((4, ), 1.5, 2.0, 0.5, 0.1),
    'DeepFashion': ((9, ), 1.5, 3.0, 0.5, 0.1),
}


def epochs_to_iters(num_images, repeats=1, epochs=30, batch=32):
    """Appendix A.4: 30 epochs at 32 images per step (the last batch of an epoch may be short)."""
    return epochs * math.ceil(num_images * repeats / batch)


# config -> (Table 1 row, dataset type, dataset selection (train / test), paper's number in the
# table of its row (Tables 1, 2, 4, 5; None for DeepFashion), max_iters)
CELEBA_ITERS = epochs_to_iters(45609)  # He et al. 2022 Sec. 4.1: 45,609 training images
CUB_ITERS = epochs_to_iters(30, repeats=100)  # ~30 training images per class, official dup=100
CONFIGS = {
    'celeba_wild_k4': ('CelebA', 'CelebADataset', None, '15.39', CELEBA_ITERS),
    'celeba_wild_k8': ('CelebA', 'CelebADataset', None, '12.26', CELEBA_ITERS),
    'aflw_k8': ('AFLW', 'AFLWDataset', None, '13.13', epochs_to_iters(10122)),
    'cub1_k4': ('CUB-1/2/3', 'CUBDataset', ('categories', (1, )), '18.15', CUB_ITERS),
    'cub2_k4': ('CUB-1/2/3', 'CUBDataset', ('categories', (2, )), '17.54', CUB_ITERS),
    'cub3_k4': ('CUB-1/2/3', 'CUBDataset', ('categories', (3, )), '19.40', CUB_ITERS),
    'voc_sheep_k4': ('VOC-sheep', 'VOCPartDataset', ('category', 'sheep'), '64.87', 30000),
    'voc_bus_k4': ('VOC-bus', 'VOCPartDataset', ('category', 'bus'), '78.17', 30000),
    'voc_motorbike_k4': ('VOC-motor', 'VOCPartDataset', ('category', 'motorbike'), '59.98', 30000),
    'voc_horse_k4': ('VOC-horse', 'VOCPartDataset', ('category', 'horse'), '53.65', 30000),
    'voc_cow_k4': ('VOC-cow', 'VOCPartDataset', ('category', 'cow'), '65.60', 30000),
    'voc_aeroplane_k4': ('VOC-aero', 'VOCPartDataset', ('category', 'aeroplane'), '52.82', 30000),
    'voc_car_k4': ('VOC-car', 'VOCPartDataset', ('category', 'car'), '70.49', 30000),
    'deepfashion_k9': ('DeepFashion', 'DeepFashionDataset', None, None, 30000),
}
# the metric of the paper's table for each dataset type (listed first in the evaluator)
PAPER_METRIC = dict(
    CelebADataset='LandmarkRegressionMetric',
    AFLWDataset='LandmarkRegressionMetric',
    CUBDataset='LandmarkRegressionMetric',
    VOCPartDataset='ForegroundIoUMetric')


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
    """The parsed config (each file read once per session; a copy the test may change)."""
    return copy.deepcopy(_parsed(name))


def dataset_dicts(node):
    """Every dict with a ``type`` inside a dataset config (wrappers and the datasets they hold)."""
    found = [node]
    for child in [node.get('dataset')] + list(node.get('datasets') or []):
        if child is not None:
            found += dataset_dicts(child)
    return found


def test_every_table_row_has_a_config():
    names = {osp.splitext(osp.basename(p))[0] for p in glob(osp.join(CONFIG_DIR, '*.py'))}
    # the official-code twins (*_official.py): tests/test_configs/test_dispart_official_configs.py
    paper = {name for name in names if not name.endswith('_official')}
    assert paper - {'synthetic_k4'} == set(CONFIGS)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_paper_settings(name):
    row, _, _, _, max_iters = CONFIGS[name]
    cfg = load(name)
    model = cfg.model
    num_parts = int(re.fullmatch(r'.+_k(\d+)', name).group(1))
    allowed_k, rec, cls, fg, bg = PAPER_TABLE1[row]
    assert num_parts in allowed_k
    assert model.type == 'DisPart'
    # K in one place: the ArcFace loss's num_classes (and L) follow model.num_parts
    assert model.num_parts == num_parts and 'num_classes' not in model.classification_loss
    weights = (model.reconstruction_loss.loss_weight, model.classification_loss.loss_weight,
               model.foreground_loss.loss_weight, model.background_loss.loss_weight)
    assert weights == (rec, cls, fg, bg)
    # Sec. 4.1 / appendix A: perceptual loss on ImageNet VGG-19, ArcFace s = 20, m = 0.5 on the K
    # foreground parts
    assert model.reconstruction_loss.type == 'PerceptualLoss'
    assert model.reconstruction_loss.pretrained == VGG19_URL
    assert (model.classification_loss.s, model.classification_loss.m) == (20.0, 0.5)
    assert model.classify_background is False
    # 128 x 128 inputs, batch 32, Adam lr 1e-4, betas (0.9, 0.999), weight decay 5e-4
    assert cfg.train_dataloader.batch_size == 32
    resize = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'ResizeParts']
    assert [t.scale for t in resize] == [(128, 128)]
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.betas,
            optimizer.weight_decay) == ('Adam', 1e-4, (0.9, 0.999), 5e-4)
    # 30 epochs; one x0.3 step half-way (official code: every 15 epochs)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == max_iters
    assert [(s.type, s.by_epoch, s.milestones, s.gamma)
            for s in cfg.param_scheduler] == [('MultiStepLR', False, [max_iters // 2], 0.3)]


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_datasets_and_metrics_are_registered(name):
    _, dataset_type, selection, _, _ = CONFIGS[name]
    cfg = load(name)
    loaders = [cfg.train_dataloader]
    if dataset_type == 'DeepFashionDataset':  # qualitative only: nothing to test or validate
        assert cfg.test_dataloader is None and cfg.test_evaluator is None
        assert cfg.val_dataloader is None and cfg.val_evaluator is None
    else:
        loaders += [cfg.test_dataloader, cfg.val_dataloader]
        evaluators = [cfg.test_evaluator, cfg.val_evaluator]
        for evaluator in evaluators:
            assert evaluator[0].type == PAPER_METRIC[dataset_type]
            for metric in evaluator:
                assert METRICS.get(metric.type) is not None, metric.type
                METRICS.build(metric)  # the metric accepts its arguments
    for loader in loaders:
        datasets = dataset_dicts(loader.dataset)
        for dataset in datasets:
            assert DATASETS.get(dataset.type) is not None, dataset.type
        leaves = [d for d in datasets if d.type == dataset_type]
        assert leaves, f'no {dataset_type} in {name}'
        if selection is not None:
            key, value = selection
            assert all(d[key] == value for d in leaves)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_model_builds(name):
    cfg = load(name)
    num_parts = cfg.model.num_parts
    # no download and no Gaussian init on the meta device: shapes and wiring only
    cfg.model.reconstruction_loss.pretrained = None
    cfg.model.init_std = None
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # the random-VGG warning
        with torch.device('meta'):
            model = MODELS.build(cfg.model)
            logits = model.part_logits(torch.empty(2, 3, 128, 128))
    assert logits.shape == (2, num_parts + 1, 32, 32)  # 32 x 32 part maps at 128 px (Sec. 4.1)
    built = (model.reconstruction_loss.loss_weight, model.classification_loss.loss_weight,
             model.foreground_loss.loss_weight, model.background_loss.loss_weight)
    assert built == PAPER_TABLE1[CONFIGS[name][0]][1:]


def test_model_zoo_lists_every_config_with_the_paper_number():
    with open(osp.join(ROOT, 'docs', 'model_zoo.md')) as f:
        zoo = f.read()
    for name, (_, _, _, paper, _) in CONFIGS.items():
        rows = [line for line in zoo.splitlines() if f'configs/dispart/{name}.py' in line]
        assert rows, f'{name} missing from docs/model_zoo.md'
        if paper is not None:
            assert any(paper in line for line in rows), f'{name}: paper number {paper}'
