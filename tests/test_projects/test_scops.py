"""The SCOPS plugin (projects/scops): losses by hand, the model, loading via custom_imports."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from partseg.models.backbones import VGG19_URL, VGG19Features
from partseg.models.layers import RandomTPS
from projects.scops.scops import (SCOPS, FrozenBackboneFeatures, OrthonormalityLoss,
                                  SCOPSConcentrationLoss, SCOPSEquivarianceLoss,
                                  SemanticConsistencyLoss)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join('projects', 'scops', 'configs', 'scops_synthetic_k4.py')
PLUGIN_MODULES = ('SCOPS', 'SCOPSConcentrationLoss', 'SCOPSEquivarianceLoss',
                  'SemanticConsistencyLoss', 'OrthonormalityLoss', 'FrozenBackboneFeatures')
ENV = dict(os.environ, CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')


def maps_from_parts(parts):
    """(B, K, h, w) foreground maps -> (B, K+1, h, w) with background = 1 - their sum."""
    parts = torch.tensor(parts, dtype=torch.float32)
    return torch.cat((1 - parts.sum(1, keepdim=True), parts), dim=1)


# ---------------------------------------------------------------------------------------------
# Eq. (1): concentration
# ---------------------------------------------------------------------------------------------
def test_concentration_loss_hand_values():
    # 2x2 map: pixel centres at x, y in {-0.5, 0.5} (the [-1, 1] frame).
    # Diagonal part: centre (0, 0), every pixel at squared distance 0.5, weights 1/2 -> 0.5.
    diagonal = maps_from_parts([[[[1.0, 0.0], [0.0, 1.0]]]])
    assert SCOPSConcentrationLoss()(diagonal).item() == pytest.approx(0.5)
    # Top row: centre (0, -0.5), squared distances 0.25 -> 0.25; a half-mass copy is the same
    # (z_k normalises the mass away).
    top = maps_from_parts([[[[1.0, 1.0], [0.0, 0.0]]]])
    assert SCOPSConcentrationLoss()(top).item() == pytest.approx(0.25)
    half = maps_from_parts([[[[0.5, 0.5], [0.0, 0.0]]]])
    assert SCOPSConcentrationLoss()(half).item() == pytest.approx(0.25)
    # Two parts are summed (0.5 + 0.25), a batch of two images averaged ((0.75 + 0.5) / 2), the
    # weight multiplies.
    both = torch.cat((diagonal[:, 1:], top[:, 1:]), dim=1) * 0.5
    two_parts = torch.cat((1 - both.sum(1, keepdim=True), both), dim=1)
    assert SCOPSConcentrationLoss()(two_parts).item() == pytest.approx(0.75)
    pair = torch.cat(
        (two_parts, maps_from_parts([[[[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]]])))
    assert SCOPSConcentrationLoss(loss_weight=2.0)(pair).item() == pytest.approx(2 * (0.75 + 0.5) /
                                                                                 2)


def test_concentration_loss_equals_partseg_foreground_loss_in_scops_frame():
    from partseg.models.losses import ForegroundConcentrationLoss
    maps = torch.randn(2, 4, 5, 6).softmax(1)
    theirs = ForegroundConcentrationLoss(
        normalizer='sum', coordinate_range=(-1, 1), part_reduction='sum')(
            maps)
    assert SCOPSConcentrationLoss()(maps).item() == pytest.approx(theirs.item(), rel=1e-5)


def test_concentration_loss_rejects_maps_without_parts():
    with pytest.raises(ValueError, match='SCOPSConcentrationLoss.*K\\+1'):
        SCOPSConcentrationLoss()(torch.rand(2, 1, 4, 4))


# ---------------------------------------------------------------------------------------------
# Eq. (2)-(3): equivariance
# ---------------------------------------------------------------------------------------------
# 1x2 maps, K = 1, channels (background, part); pixel centres at x = -0.5 and 0.5, y = 0.
WARPED = torch.tensor([[[[0.5, 0.5]], [[0.5, 0.5]]]])  # T_s(R)
PRED = torch.tensor([[[[0.5, 0.25]], [[0.5, 0.75]]]])  # R'
KL_PIXEL1 = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)  # 0.5 ln(4/3)


def test_equivariance_loss_hand_values():
    # map term: KL 0 at pixel 0 and 0.5 ln(4/3) at pixel 1, mean over the 2 pixels;
    # centroid term: part centre of T_s(R) x = 0, of R' x = (-0.5 * 0.5 + 0.5 * 0.75) / 1.25 = 0.1.
    loss = SCOPSEquivarianceLoss(map_weight=1.0, centroid_weight=0.0)
    assert loss(PRED, WARPED).item() == pytest.approx(KL_PIXEL1 / 2, rel=1e-5)
    loss = SCOPSEquivarianceLoss(map_weight=0.0, centroid_weight=1.0)
    assert loss(PRED, WARPED).item() == pytest.approx(0.01, rel=1e-4)
    loss = SCOPSEquivarianceLoss(map_weight=2.0, centroid_weight=3.0)
    assert loss(PRED, WARPED).item() == pytest.approx(2 * KL_PIXEL1 / 2 + 3 * 0.01, rel=1e-4)


def test_equivariance_loss_ignores_invalid_pixels_and_renormalises_the_target():
    loss = SCOPSEquivarianceLoss(map_weight=1.0, centroid_weight=1.0)
    # Pixel 1 fell outside the source image: only pixel 0 counts, where the maps agree and both
    # part centres are x = -0.5.
    valid = torch.tensor([[[[1.0, 0.0]]]])
    assert loss(PRED, WARPED, valid).item() == pytest.approx(0.0, abs=1e-6)
    # Half-valid pixel 1 of the target (mass 0.5 after the zero-padded warp) is renormalised to
    # (0.5, 0.5): the map term is the pixel-weighted mean KL_PIXEL1 * 0.5 / 1.5.
    soft = torch.tensor([[[[1.0, 0.5]]]])
    loss = SCOPSEquivarianceLoss(map_weight=1.0, centroid_weight=0.0)
    assert loss(PRED, WARPED * soft, soft).item() == pytest.approx(KL_PIXEL1 * 0.5 / 1.5, rel=1e-5)


def test_equivariance_loss_treats_warped_maps_as_fixed_target_of_the_map_term():
    pred = PRED.clone().requires_grad_()
    warped = WARPED.clone().requires_grad_()
    SCOPSEquivarianceLoss(map_weight=1.0, centroid_weight=0.0)(pred, warped).backward()
    assert warped.grad is None or warped.grad.abs().max() == 0
    assert pred.grad.abs().max() > 0
    warped.grad = None
    SCOPSEquivarianceLoss(map_weight=0.0, centroid_weight=1.0)(pred, warped).backward()
    assert warped.grad.abs().max() > 0  # the centroid term reaches both maps


def test_equivariance_loss_rejects_bad_shapes():
    loss = SCOPSEquivarianceLoss()
    with pytest.raises(ValueError, match='SCOPSEquivarianceLoss'):
        loss(PRED, WARPED[:, :, :, :1])
    with pytest.raises(ValueError, match='valid must be'):
        loss(PRED, WARPED, torch.ones(1, 2, 1, 2))


# ---------------------------------------------------------------------------------------------
# Eq. (4)-(5): semantic consistency; Eq. (6): orthonormality
# ---------------------------------------------------------------------------------------------
def test_semantic_consistency_loss_hand_value():
    # K = 2, D = 2, 1x2 pixels. Pixel 0 is all part 1: w_1 = (1, 0) vs V = (1, 1), error 1.
    # Pixel 1 is half background, half part 2: 0.5 w_2 = (0, 1) vs V = (0, 0), error 1.
    # Mean over 2 pixels x 2 channels: 2 / 4.
    part_maps = torch.tensor([[[[0.0, 0.5]], [[1.0, 0.0]], [[0.0, 0.5]]]])
    features = torch.tensor([[[[1.0, 0.0]], [[1.0, 0.0]]]])
    basis = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert SemanticConsistencyLoss()(features, part_maps, basis).item() == pytest.approx(0.5)
    assert SemanticConsistencyLoss(loss_weight=4.0)(features, part_maps,
                                                    basis).item() == pytest.approx(2.0)
    # The background channel reconstructs nothing: an all-background map leaves |V|^2 / D.
    background = torch.tensor([[[[1.0, 1.0]], [[0.0, 0.0]], [[0.0, 0.0]]]])
    assert SemanticConsistencyLoss()(features, background, basis).item() == pytest.approx(0.5)


def test_semantic_consistency_loss_rejects_mismatched_basis():
    with pytest.raises(ValueError, match='basis \\(2, 4\\) \\(expected \\(2, 3\\)'):
        SemanticConsistencyLoss()(torch.rand(1, 3, 2, 2), torch.rand(1, 3, 2, 2), torch.rand(2, 4))


def test_orthonormality_loss_hand_values():
    basis = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    # Rows normalised: Gram [[1, 1/sqrt2], [1/sqrt2, 1]] - I -> 2 * (1/sqrt2)^2 = 1.
    assert OrthonormalityLoss()(basis).item() == pytest.approx(1.0, rel=1e-5)
    # Literal ||W W^T - I||^2: [[1, 1], [1, 2]] - I = [[0, 1], [1, 1]] -> 3.
    assert OrthonormalityLoss(normalize_rows=False)(basis).item() == pytest.approx(3.0)
    assert OrthonormalityLoss(loss_weight=0.1)(torch.eye(3) * 5).item() == pytest.approx(0.0)
    with pytest.raises(ValueError, match='OrthonormalityLoss'):
        OrthonormalityLoss()(torch.rand(2, 2, 2))


# ---------------------------------------------------------------------------------------------
# Feature extractors
# ---------------------------------------------------------------------------------------------
def test_vgg19_features_loads_a_torchvision_state_dict(tmp_path):
    with pytest.warns(UserWarning, match='randomly initialised'):
        random_vgg = VGG19Features(layers='relu1_1')
    assert random_vgg.out_channels == 64
    state = {
        'features.0.weight': torch.full((64, 3, 3, 3), 0.01),
        'features.0.bias': torch.zeros(64),
        'classifier.0.weight': torch.zeros(1)
    }
    path = tmp_path / 'vgg19.pth'
    torch.save(state, path)
    vgg = VGG19Features(layers='relu1_1', pretrained=str(path))
    vgg.init_weights()  # the weights are read here, not when the extractor is built
    assert torch.equal(vgg[0].weight, state['features.0.weight'])
    out = vgg(torch.rand(1, 3, 8, 8))
    assert out.shape == (1, 64, 8, 8) and (out >= 0).all()
    assert VGG19Features.__init__.__defaults__[0] == 'relu5_2'  # the paper's layer


def test_vgg19_features_bad_input_names_layer_or_file(tmp_path):
    with pytest.raises(ValueError, match="unknown layer 'relu6_1'"):
        VGG19Features(layers='relu6_1')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        VGG19Features(layers='relu1_1', pretrained=str(tmp_path / 'nope.pth')).init_weights()
    torch.save({'features.0.weight': torch.zeros(64, 3, 3, 3)}, tmp_path / 'partial.pth')
    with pytest.raises(KeyError, match='features.0.bias'):
        VGG19Features(layers='relu1_1', pretrained=str(tmp_path / 'partial.pth')).init_weights()


def tiny_backbone(base_channels=4, init_std=0.1):
    return dict(
        type='TruncatedResNet',
        depth=18,
        strides=(1, 2, 1),
        stem_pool=False,
        base_channels=base_channels,
        init_std=init_std)


def test_frozen_backbone_features_stay_frozen_and_in_eval():
    extractor = FrozenBackboneFeatures(backbone=tiny_backbone())
    before = {k: v.clone() for k, v in extractor.state_dict().items()}
    extractor.train()
    extractor.init_weights()
    assert not extractor.backbone.training
    assert not any(p.requires_grad for p in extractor.parameters())
    assert extractor.out_channels == 16
    assert extractor(torch.rand(2, 3, 16, 16)).shape == (2, 16, 4, 4)
    after = extractor.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN stats untouched too


# ---------------------------------------------------------------------------------------------
# The segmentor
# ---------------------------------------------------------------------------------------------
def scops_kwargs(**update):
    """SCOPS's arguments for a tiny 3-part model on 16-px images; ``update`` replaces entries."""
    kwargs = dict(
        num_parts=3,
        backbone=tiny_backbone(),
        feature_extractor=dict(type='FrozenBackboneFeatures', backbone=tiny_backbone()),
        concentration_loss=dict(type='SCOPSConcentrationLoss'),
        equivariance_loss=dict(type='SCOPSEquivarianceLoss'),
        semantic_consistency_loss=dict(type='SemanticConsistencyLoss'),
        orthonormality_loss=dict(type='OrthonormalityLoss'),
        equivariance_tps=dict(type='RandomTPS', grid_size=3))
    kwargs.update(update)
    return kwargs


def tiny_scops(**tps):
    kwargs = scops_kwargs()
    kwargs['equivariance_tps'].update(tps)
    return SCOPS(**kwargs)


def test_scops_losses_and_gradients():
    torch.manual_seed(0)
    model = tiny_scops(rotation_std=10.0)
    losses = model.loss(torch.randn(2, 3, 16, 16))
    assert sorted(losses) == ['loss_con', 'loss_eqv', 'loss_on', 'loss_sc']
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    sum(losses.values()).backward()
    assert model.part_head.weight.grad.abs().sum() > 0
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.part_basis.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.feature_extractor.parameters())


def test_scops_identity_warp_gives_zero_equivariance_loss():
    torch.manual_seed(0)
    model = tiny_scops(point_std=0.0, extra_point_std=0.0, translation_std=0.0)
    assert model.loss(torch.randn(2, 3, 16, 16))['loss_eqv'].item() == pytest.approx(0, abs=1e-5)


def test_scops_warp_grid_convention_is_output_to_source():
    # A pure translation by one pixel (2 / W in [-1, 1]): output pixel j samples source j + 1.
    centers = torch.zeros(1, 4, 2)
    affine = torch.tensor([[[2 / 8, 0.0], [1.0, 0.0], [0.0, 1.0]]])
    grid = RandomTPS(grid_size=2).grid((centers, torch.zeros(1, 4, 2), affine), (1, 8))
    assert torch.equal(tiny_scops().warp_grid((centers, torch.zeros(1, 4, 2), affine), (1, 8)),
                       grid)
    image = torch.arange(8.0).view(1, 1, 1, 8)
    shifted = torch.nn.functional.grid_sample(image, grid, align_corners=False)
    assert shifted.flatten().tolist() == [1, 2, 3, 4, 5, 6, 7, 0]


def test_scops_predict_fills_part_data_samples():
    model = tiny_scops().eval()
    with torch.no_grad():
        samples = model.predict(torch.randn(2, 3, 16, 16))
    assert samples[0].seg_logits.data.shape == (4, 16, 16)
    assert samples[1].pred_sem_seg.data.shape == (1, 16, 16)


def test_scops_saliency_masks_the_features_and_names_a_missing_field():
    from mmengine.structures import PixelData

    from partseg.structures import PartDataSample
    model = tiny_scops()
    model.saliency_field = 'gt_fg_mask'
    samples = [PartDataSample(), PartDataSample()]
    mask = torch.zeros(1, 16, 16, dtype=torch.bool)
    mask[:, :8, :4] = True  # rows 0-7, columns 0-3: exactly the map cells (0, 0) and (1, 0)
    samples[0].gt_fg_mask = PixelData(data=mask)
    samples[1].gt_fg_mask = PixelData(data=torch.ones(1, 16, 16, dtype=torch.bool))
    pooled = model.saliency(samples, (4, 4), torch.zeros(()))
    assert pooled.shape == (2, 1, 4, 4)
    assert pooled[0, 0, :2, 0].tolist() == [1.0, 1.0] and pooled[0, 0, :, 1:].sum() == 0
    assert (pooled[1] == 1).all()
    assert torch.isfinite(model.loss(torch.randn(2, 3, 16, 16), samples)['loss_sc'])
    with pytest.raises(KeyError, match="saliency_field='gt_fg_mask'"):
        model.loss(torch.randn(2, 3, 16, 16), [PartDataSample(), PartDataSample()])


@pytest.mark.parametrize('update, message', [
    (dict(data_preprocessor=dict(type='ImgDataPreprocessor')),
     'data_preprocessor must be an ImgDataPreprocessor'),
    (dict(equivariance_tps=dict(type='ImgDataPreprocessor')),
     'equivariance_tps must configure a RandomTPS'),
])
def test_scops_bad_components_give_one_line_errors(update, message):
    with pytest.raises(TypeError, match=message):
        SCOPS(**scops_kwargs(**update))


def test_paper_and_gt_background_configs_build():
    from mmengine.config import Config

    from partseg.registry import MODELS
    paper = Config.fromfile(
        osp.join(ROOT, 'projects', 'scops', 'configs', '_base_', 'models', 'scops.py'))
    with torch.device('meta'):  # builds offline: the VGG-19 weights are read by init_weights
        model = MODELS.build(paper.model)
    assert model.num_parts == 8 and model.part_basis.shape == (8, 512)
    assert isinstance(model.feature_extractor, VGG19Features)
    assert model.feature_extractor.layers == ('relu5_2', ) and model.saliency_field is None
    assert model.feature_extractor.pretrained == VGG19_URL
    gt_bg = Config.fromfile(
        osp.join(ROOT, 'projects', 'scops', 'configs', 'scops_synthetic_k4_gt_bg.py'))
    assert gt_bg.model.saliency_field == 'gt_fg_mask' and gt_bg.model.num_parts == 4
    assert gt_bg.model.feature_extractor.type == 'FrozenBackboneFeatures'


# ---------------------------------------------------------------------------------------------
# Loaded only through custom_imports; trains with tools/train.py
# ---------------------------------------------------------------------------------------------
def test_plugin_is_registered_only_by_the_configs_custom_imports():
    script = f'''
import sys
import partseg.models  # every partseg model module, as a build in scope 'partseg' imports them
from mmengine.config import Config
from partseg.registry import MODELS
names = {PLUGIN_MODULES!r}
assert not [n for n in names if n in MODELS.module_dict], 'registered before the config'
assert not [m for m in sys.modules if m.startswith('projects')], 'imported before the config'
cfg = Config.fromfile({CONFIG!r})
assert cfg.custom_imports == dict(imports=['projects.scops.scops'], allow_failed_imports=False)
missing = [n for n in names if n not in MODELS.module_dict]
assert not missing, missing
assert MODELS.get(cfg.model.type).__module__ == 'projects.scops.scops.scops'
print('OK')
'''
    proc = subprocess.run([sys.executable, '-c', script],
                          cwd=ROOT,
                          env=ENV,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith('OK'), proc.stderr[-3000:]


def test_train_tool_trains_the_plugin_config_for_three_iterations(tmp_path):
    # The README's command, run from the repository root with nothing on PYTHONPATH: train.py
    # itself must make `projects` importable for the config's custom_imports.
    env = {k: v for k, v in ENV.items() if k != 'PYTHONPATH'}
    options = [
        'train_cfg.max_iters=3', 'default_hooks.logger.interval=1',
        'default_hooks.visualization.interval=0', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'train_dataloader.dataset.num_samples=8', 'train_dataloader.dataset.image_size=32',
        'train_dataloader.dataset.pipeline.1.scale=(32,32)', 'val_dataloader.batch_size=4',
        'model.backbone.base_channels=4', 'model.feature_extractor.backbone.base_channels=4'
    ]
    for i in (0, 1):
        options += [
            f'val_dataloader.dataset.datasets.{i}.num_samples=4',
            f'val_dataloader.dataset.datasets.{i}.image_size=32',
            f'val_dataloader.dataset.datasets.{i}.pipeline.1.scale=(32,32)'
        ]
    proc = subprocess.run([
        sys.executable,
        osp.join('tools', 'train.py'), CONFIG, '--work-dir',
        str(tmp_path), '--cfg-options', *options
    ],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert osp.isfile(tmp_path / 'iter_3.pth')
    assert 'Iter(train) [3/3]' in log
    for key in ('loss_con', 'loss_eqv', 'loss_sc', 'loss_on'):
        assert key in log
    assert 'parts/fg_iou' in log  # partseg's metrics evaluated the plugin's predictions
    scalars = [
        osp.join(root, name) for root, _, names in os.walk(tmp_path) for name in names
        if name == 'scalars.json'
    ]
    with open(scalars[0]) as f:
        first = json.loads(f.readline())
    assert first['iter'] == 1 and math.isfinite(first['loss'])
