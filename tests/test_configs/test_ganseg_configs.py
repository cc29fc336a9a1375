"""configs/ganseg: every config loads, stage 1 and stage 2 agree on K and on the checkpoint path,
the paper configs build the official architecture (parameter counts, on the meta device), and the
CPU synthetic configs build and run."""
import ast
import os.path as osp
from glob import glob

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from partseg.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'ganseg')
STAGE1 = ('celeba_wild_k4', 'celeba_wild_k8', 'celeba_aligned_k10', 'cub_k8', 'flowers_k8',
          'taichi_k10', 'synthetic_k4')
K = dict(
    celeba_wild_k4=4,
    celeba_wild_k8=8,
    celeba_aligned_k10=10,
    cub_k8=8,
    flowers_k8=8,
    taichi_k10=10,
    synthetic_k4=4)
# C_con of Eq. (26), Table 4 / appendix F.4: lambda_con = C_con * K on the part-averaged loss
C_CON = dict(
    celeba_wild_k4=1.25,
    celeba_wild_k8=1.25,
    celeba_aligned_k10=1.25,
    cub_k8=1.25,
    flowers_k8=3.75,
    taichi_k10=3.0,
    synthetic_k4=1.25)

# the dataset base of each experiment (configs/_base_/datasets/)
DATA = dict(
    celeba_wild_k4='celeba_wild.py',
    celeba_wild_k8='celeba_wild.py',
    celeba_aligned_k10='celeba_aligned.py',
    cub_k8='cub_ganseg.py',
    flowers_k8='flowers.py',
    taichi_k10='taichi.py',
    synthetic_k4='synthetic_parts.py')


def load(name):
    return Config.fromfile(osp.join(CONFIG_DIR, f'{name}.py'))


def stage2_bases(name):
    """The ``_base_`` list written in ``configs/ganseg/<name>_stage2.py``."""
    with open(osp.join(CONFIG_DIR, f'{name}_stage2.py'), encoding='utf-8') as f:
        tree = ast.parse(f.read())
    return next(
        ast.literal_eval(node.value) for node in tree.body
        if isinstance(node, ast.Assign) and node.targets[0].id == '_base_')


def count(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@pytest.fixture(autouse=True)
def partseg_scope():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with DefaultScope.overwrite_default_scope('partseg'):
        yield
    torch.set_num_threads(threads)


def test_every_experiment_has_both_stages():
    names = sorted(osp.splitext(osp.basename(p))[0] for p in glob(osp.join(CONFIG_DIR, '*.py')))
    expected = sorted(list(STAGE1) + [f'{n}_stage2' for n in STAGE1] + ['taichi_k10_stage2_iou'])
    assert names == expected


@pytest.mark.parametrize('name', STAGE1)
def test_stage1_config(name):
    cfg = load(name)
    model = cfg.model
    assert model.type == 'GANSeg'
    gen, disc = model.generator, model.discriminator
    # K in one place: GANSeg passes model.num_parts to the generator
    assert model.num_parts == K[name] == cfg.num_parts and 'num_parts' not in gen
    assert disc.image_size == gen.feature_map_sizes[-1]
    # appendix B.4 and the official code
    assert model.con_loss.loss_weight_per_part == C_CON[name]
    assert model.con_loss.part_reduction == 'mean'
    assert model.area_loss.loss_weight == 1.0 and model.gp_loss.loss_weight == 10.0
    assert (model.gp_interval, model.con_area_interval) == (16, 2)
    assert cfg.optim_wrapper.constructor == 'MultipleOptimWrapperConstructor'
    for key, lr in (('generator', 1e-4), ('discriminator', 4e-4)):
        optimizer = cfg.optim_wrapper[key].optimizer
        assert optimizer.type == 'Adam' and optimizer.betas == (0.5, 0.9)
        if name != 'synthetic_k4':
            assert optimizer.lr == lr
    if name != 'synthetic_k4':
        assert cfg.train_cfg.max_iters == 30000 and cfg.train_dataloader.batch_size == 64
    assert cfg.val_dataloader is None and cfg.test_dataloader is None
    assert any(hook.type == 'GeneratedGridHook' for hook in cfg.custom_hooks)
    # the official CUB / Flowers loaders: flip, then RandomResizedCrop(scale 0.9-1, ratio 0.9-1.1)
    types = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    if name in ('cub_k8', 'flowers_k8'):
        assert types[-3:] == ['RandomFlipParts', 'RandomResizedCropParts', 'PackPartInputs']
        crop = cfg.train_dataloader.dataset.pipeline[-2]
        assert (crop.crop_ratio_range, crop.aspect_ratio_range) == ((0.9, 1.0), (0.9, 1.1))
        assert crop.get('scale') is None  # back to the 128 px of ResizeParts
    else:
        assert 'RandomResizedCropParts' not in types


@pytest.mark.parametrize('name', STAGE1)
def test_stage2_config_matches_stage1(name):
    stage1, stage2 = load(name), load(f'{name}_stage2')
    model = stage2.model
    assert model.type == 'EncoderDecoder' and model._scope_ == 'mmseg'
    assert model.decode_head.num_classes == K[name] + 1
    losses = model.decode_head.loss_decode
    assert [(loss.type, loss.loss_weight) for loss in losses] == [('CrossEntropyLoss', 0.5),
                                                                  ('partseg.SoftDiceLoss', 0.5)]
    # every stage-2 config is the stage-2 base plus a dataset base and its differences
    assert stage2_bases(name) == ['../_base_/ganseg_stage2.py', f'../_base_/datasets/{DATA[name]}']
    loader = stage2.train_dataloader
    pairs = loader.dataset
    assert pairs.type == 'GeneratedPairsDataset' and pairs.num_parts == K[name]
    assert '_delete_' not in loader  # it replaced the dataset base's real-image loader
    assert [t.type for t in pairs.pipeline] == ['LoadPartImage', 'PackPartInputs']
    # the stage-1 checkpoint tools/train.py writes: work_dirs/<stage-1 config>/iter_<max_iters>.pth
    assert pairs.checkpoint == f'work_dirs/{name}/iter_{stage1.train_cfg.max_iters}.pth'
    # the generator is built from the stage-1 config, never from the checkpoint's meta.cfg
    assert pairs.stage1_config == osp.join(CONFIG_DIR, f'{name}.py')
    assert Config.fromfile(pairs.stage1_config).model.generator == stage1.model.generator
    assert stage2.test_dataloader is not None and stage2.test_evaluator
    assert stage2.val_dataloader is None and stage2.val_cfg is None
    if name != 'synthetic_k4':
        assert stage2.optim_wrapper.optimizer.lr == 3e-4
        assert stage2.train_cfg.max_iters == 10000 and loader.batch_size == 64
        assert model.backbone.depth == 50 and model.backbone.init_cfg.checkpoint == (
            'torchvision://resnet50')
        # the official train_seg.py: 10 epochs of 64,000 fresh pairs = 10,000 iterations of 64,
        # generated in the main process (on the GPU when there is one)
        assert (pairs.resample, pairs.num_samples, pairs.num_epochs) == ('epoch', 64000, 10)
        assert pairs.num_samples * pairs.num_epochs == stage2.train_cfg.max_iters * 64
        assert pairs.device == 'auto' and loader.num_workers == 0
    else:  # one CPU-sampled pool: fresh pairs every pass cost too much generator time on a CPU
        assert (pairs.resample, pairs.num_samples, pairs.device) == ('never', 4000, 'cpu')


@pytest.mark.parametrize('name, generator, discriminator', [
    ('celeba_wild_k8', 17_793_225, 23_726_721),
    ('cub_k8', 23_221_833, 23_726_721),
])
def test_official_parameter_counts(name, generator, discriminator):
    # measured on the official implementation (docs/ganseg.md)
    model = load(name).model
    with torch.device('meta'):
        assert count(MODELS.build(model).generator) == generator
        assert count(MODELS.build(model.discriminator)) == discriminator


def test_paper_segmenter_builds():
    cfg = load('celeba_wild_k8_stage2')
    with torch.device('meta'):
        segmenter = MODELS.build(cfg.model)
    assert type(segmenter).__name__ == 'EncoderDecoder'
    assert segmenter.decode_head.conv_seg.out_channels == 9


def test_synthetic_stage1_is_equivariant():
    # the shrunken sizes keep the masks exactly translation-equivariant (margin 8 at 8..32 px)
    cfg = load('synthetic_k4')
    gen = MODELS.build(cfg.model).generator.eval()
    parts = gen.point_generator(torch.randn(1, 64), torch.randn(1, 64))
    points = (torch.rand(1, 4, 4, 2) - 0.5) * 0.8
    locations = points.mean(2)
    scales = gen.point_generator.part_scales(points, locations)
    delta = torch.tensor([2 / 8, 0.0])  # one pixel at 8 px = four at 32 px
    with torch.no_grad():
        base, _ = gen.mask_generator(points, locations, scales, parts['part_embeddings'])
        moved, _ = gen.mask_generator(points + delta, locations + delta, scales,
                                      parts['part_embeddings'])
    assert base.shape == (1, 5, 32, 32)
    assert torch.allclose(moved[..., 4:], base[..., :-4], atol=1e-5)


def test_synthetic_stage2_segmenter_trains():
    cfg = load('synthetic_k4_stage2')
    segmenter = MODELS.build(cfg.model)
    from mmengine.structures import PixelData

    from partseg.structures import PartDataSample
    samples = []
    for i in range(2):
        sample = PartDataSample(metainfo=dict(img_shape=(32, 32), ori_shape=(32, 32)))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 5, (1, 32, 32)))
        samples.append(sample)
    data = segmenter.data_preprocessor(
        dict(
            inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(2)],
            data_samples=samples), True)
    losses = segmenter(**data, mode='loss')
    assert {'decode.loss_ce', 'decode.loss_dice'} <= set(losses)
    assert all(torch.isfinite(losses[key]) for key in ('decode.loss_ce', 'decode.loss_dice'))


def test_segmenter_default_is_torchvision_head_and_mmseg_aspp_one_override_away():
    from partseg.models.decode_heads import ProjectedASPPHead
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'cub_k8_stage2.py'))
    head = cfg.model.decode_head
    assert head.type == 'partseg.ProjectedASPPHead' and head.dropout_ratio == 0.0
    cfg.merge_from_dict({
        'model.decode_head.type': 'ASPPHead',
        'model.decode_head.dropout_ratio': 0.1
    })
    with DefaultScope.overwrite_default_scope('partseg'):
        model = MODELS.build(cfg.model)
    assert type(model.decode_head).__name__ == 'ASPPHead'
    assert not isinstance(model.decode_head, ProjectedASPPHead)
