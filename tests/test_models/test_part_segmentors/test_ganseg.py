"""GANSeg stage 1 (He et al. 2022 Eq. (13)-(19)): the D/G train_step, its schedules and guards,
checked on a 16-px generator, directly and under an MMEngine Runner."""
import copy
import itertools

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.visualization import Visualizer

import partseg.engine  # noqa: F401  (safe checkpointing, MultipleOptimWrapperConstructor)
from partseg.engine.checkpoint import safe_load
from partseg.engine.optimizers import MultipleOptimWrapperConstructor
from partseg.models.part_segmentors import GANSeg
from partseg.registry import MODELS
from partseg.structures import PartDataSample

K, SIZE = 2, 16

TINY = dict(
    type='GANSeg',
    generator=dict(
        type='GANSegGenerator',
        num_parts=K,
        z_dim=8,
        emb_dim=8,
        spade_hidden=8,
        adain_hidden=8,
        feature_map_sizes=(8, 16),
        mask_channels=(16, 8),
        fg_channels=(16, 8),
        bg_channels=(16, 8),
        margin=4,
        heatmap_type='linear',
        scale_type='mean_abs'),
    discriminator=dict(type='GANSegDiscriminator', channels=(8, 8), image_size=SIZE, fc_channels=8),
    gp_loss=dict(type='GradientPenaltyLoss', loss_weight=10.0, center=0.0),
    con_loss=dict(type='GeometricConcentrationLoss', loss_weight=10.0, part_reduction='mean'),
    area_loss=dict(type='AreaLoss', loss_weight=1.0, min_area='point_spread'))

OPTIM = dict(
    constructor='MultipleOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.5, 0.9))),
    discriminator=dict(optimizer=dict(type='Adam', lr=4e-4, betas=(0.5, 0.9))))

_runs = itertools.count()

# One thread, a fixed seed and no mmengine singletons leaking (conftest.py's `isolated`).
pytestmark = pytest.mark.usefixtures('isolated')


def build(**update):
    cfg = copy.deepcopy(TINY)
    cfg.update(update)
    return MODELS.build(cfg)


def wrappers(model, g_lr=1e-4, d_lr=4e-4, **wrapper_cfg):
    cfg = copy.deepcopy(OPTIM)
    cfg.pop('constructor')
    cfg['generator']['optimizer']['lr'] = g_lr
    cfg['discriminator']['optimizer']['lr'] = d_lr
    for name in ('generator', 'discriminator'):
        cfg[name].update(wrapper_cfg)
    with DefaultScope.overwrite_default_scope('partseg'):
        return MultipleOptimWrapperConstructor(cfg)(model)


def batch(num=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return dict(
        inputs=[
            torch.randint(0, 256, (3, SIZE, SIZE), dtype=torch.uint8, generator=gen)
            for _ in range(num)
        ],
        data_samples=[PartDataSample() for _ in range(num)])


def params(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()]).clone()


def test_penalty_schedules():
    model = build(gp_interval=2, con_area_interval=3)
    optim = wrappers(model)
    keys = [set(model.train_step(batch(seed=i), optim)) for i in range(4)]
    losses = [{k for k in step if k.startswith('loss_')} for step in keys]
    assert losses[0] == {'loss_d', 'loss_gp', 'loss_g', 'loss_con', 'loss_area'}
    assert losses[1] == {'loss_d', 'loss_g'}
    assert losses[2] == {'loss_d', 'loss_gp', 'loss_g'}
    assert losses[3] == {'loss_d', 'loss_g', 'loss_con', 'loss_area'}
    assert {'d_real_acc', 'd_fake_acc', 'area_part1', 'area_part2'} <= keys[0]
    assert int(model.num_d_steps) == int(model.num_g_steps) == 4
    assert int(model.part_count) == K


def test_d_step_then_g_step_each_on_its_own_parameters():
    model = build()
    optim = wrappers(model)
    order = []
    for name in ('discriminator', 'generator'):
        wrapper = optim[name]
        step = wrapper.step

        def recording_step(name=name, step=step, wrapper=wrapper):
            # the G loss must leave no gradient in D and vice versa
            other = model.generator if name == 'discriminator' else model.discriminator
            assert all(p.grad is None or not p.grad.any() for p in other.parameters())
            order.append(name)
            step()

        wrapper.step = recording_step
    g0, d0 = params(model.generator), params(model.discriminator)
    model.train_step(batch(), optim)
    assert order == ['discriminator', 'generator']
    assert not torch.equal(params(model.generator), g0)
    assert not torch.equal(params(model.discriminator), d0)
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_loss_values_follow_eq13_to_17():
    # fixed noise and zero learning rates: every logged term can be recomputed from the modules
    model = build()
    optim = wrappers(model, g_lr=0.0, d_lr=0.0)
    noise = model.generator.sample_noise(2)
    model.generator.sample_noise = lambda batch_size, device: noise
    data = batch()
    log = model.train_step(data, optim)

    real = model.data_preprocessor(copy.deepcopy(data), True)['inputs'].requires_grad_(True)
    assert real.min() >= -1 and real.max() <= 1  # uint8 -> [-1, 1]
    out = model.generator(noise)
    d_real, d_fake = model.discriminator(real), model.discriminator(out['image'])
    # Eq. (14): logistic D loss; Eq. (13): non-saturating G loss
    assert log['loss_d'].item() == pytest.approx(
        (F.softplus(d_fake).mean() + F.softplus(-d_real).mean()).item(), rel=1e-4)
    assert log['loss_g'].item() == pytest.approx(F.softplus(-d_fake).mean().item(), rel=1e-4)
    # Eq. (15) as R1: 10 * E |grad_x D(x)|^2 on real images
    grad, = torch.autograd.grad(d_real.sum(), real)
    assert log['loss_gp'].item() == pytest.approx(
        10 * grad.pow(2).sum((1, 2, 3)).mean().item(), rel=1e-3)
    # Eq. (16) (official mean over parts, lambda 10) and the official area loss
    masks = out['masks'][:, 1:]
    grid = model.generator.mask_grid()
    assert log['loss_con'].item() == pytest.approx(
        model.con_loss(masks, out['part_locations'], grid).item(), rel=1e-4)
    assert log['loss_area'].item() == pytest.approx(
        model.area_loss(masks, out['heatmaps'], out['points']).item(), rel=1e-4)


def test_mixed_precision_keeps_the_penalty_step_in_fp32():
    """Under bf16 autocast (AutocastOptimWrapper) a penalty D step runs D on the real batch in
    fp32 (so L_gp equals the fp32 run's) and on the fake batch in bf16; other D steps run D once
    on both; points, masks and every logged loss stay fp32."""
    calls = []

    def record(module, args):
        calls.append((args[0].shape[0], args[0].dtype, torch.is_autocast_enabled('cpu')))

    logs = {}
    for amp in (False, True):
        torch.manual_seed(0)
        model = build(gp_interval=2)
        optim = wrappers(model, type='AutocastOptimWrapper') if amp else wrappers(model)
        handle = model.discriminator.register_forward_pre_hook(record)
        calls.clear()
        logs[amp] = [model.train_step(batch(seed=i), optim) for i in range(2)]
        handle.remove()
    # the last run's D calls: step 0 (penalty) real in fp32 without autocast, fake (generated in
    # bf16), G step; step 1: real and fake as one batch of 2B (cat promotes to fp32), G step
    bf16, fp32 = torch.bfloat16, torch.float32
    assert calls == [(2, fp32, False), (2, bf16, True), (2, bf16, True), (4, fp32, True),
                     (2, bf16, True)]
    assert logs[True][0]['loss_gp'].item() == pytest.approx(
        logs[False][0]['loss_gp'].item(), rel=1e-5)
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for log in logs[True]
               for v in log.values())
    model.generator.eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        out = model.generator(model.generator.sample_noise(2))
    assert out['points'].dtype == out['masks'].dtype == out['heatmaps'].dtype == torch.float32
    assert out['image'].dtype == torch.bfloat16


def test_official_gradient_penalty_variant():
    model = build(gp_loss=dict(type='GradientPenaltyLoss', loss_weight=10.0, center=1.0))
    log = model.train_step(batch(), wrappers(model))
    assert model.gp_loss.center == 1.0 and torch.isfinite(log['loss_gp'])


def test_ema_generator_is_used_for_sampling():
    # MMEngine's EMA copies G at its first update, then ema = 0.5 ema + 0.5 G
    model = build(ema_momentum=0.5)
    optim = wrappers(model)
    model.train_step(batch(), optim)
    ema1, gen1 = params(model.generator_ema.module), params(model.generator)
    assert torch.equal(ema1, gen1)
    model.train_step(batch(seed=1), optim)
    ema2, gen2 = params(model.generator_ema.module), params(model.generator)
    assert torch.allclose(ema2, 0.5 * gen1 + 0.5 * gen2, atol=1e-6)
    assert model.sampling_generator is model.generator_ema.module
    assert any(key.startswith('generator_ema.module.') for key in model.state_dict())


def test_bad_config():
    with pytest.raises(ValueError, match='gp_interval'):
        build(gp_interval=0)
    model = build()
    with pytest.raises(KeyError, match="optim_wrapper\\['generator'\\]"):
        model.train_step(batch(), {'discriminator': None})
    with pytest.raises(ValueError, match='train_step'):
        model(torch.zeros(1, 3, SIZE, SIZE), mode='loss')


def test_generate_is_seeded_and_restores_mode():
    model = build()
    a = model.generate(seeds=[3, 4])
    b = model.generate(seeds=[4])
    assert torch.allclose(a['image'][1], b['image'][0], atol=1e-6)
    assert model.generator.training
    samples = model(torch.zeros(2, 3, SIZE, SIZE), mode='predict')
    assert len(samples) == 2 and samples[0].seg_logits.data.shape == (K + 1, SIZE, SIZE)


def make_runner(work_dir, max_iters, resume=False):
    return Runner(
        model=copy.deepcopy(TINY),
        work_dir=str(work_dir),
        experiment_name=f'ganseg_{next(_runs)}',
        train_dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(
                type='SyntheticPartsDataset',
                num_samples=4,
                num_parts=K,
                image_size=SIZE,
                pipeline=[dict(type='LoadPartImage'),
                          dict(type='PackPartInputs')])),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        optim_wrapper=copy.deepcopy(OPTIM),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook',
                by_epoch=False,
                interval=2,
                backend_args=dict(backend='local_atomic')),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[
            dict(type='GeneratedGridHook', interval=2, num_samples=2, nrow=2, min_tile_size=16)
        ],
        log_processor=dict(by_epoch=False),
        log_level='WARNING',
        resume=resume,
        default_scope='partseg',
        randomness=dict(seed=0))


def test_runner_trains_and_resumes(tmp_path):
    runner = make_runner(tmp_path, max_iters=2)
    runner.train()
    model = runner.model
    assert isinstance(model, GANSeg)
    assert int(model.num_d_steps) == int(model.num_g_steps) == 2
    scalars = runner.message_hub.log_scalars
    assert {'train/loss_d', 'train/loss_g', 'train/loss_gp', 'train/loss_con'} <= set(scalars)
    assert (tmp_path / 'iter_2.pth').is_file()
    grids = list(tmp_path.glob('*/vis_data/vis_image/generated_grid_2.png'))
    assert len(grids) == 1  # GeneratedGridHook drew the samples through the visualizer
    state = safe_load(tmp_path / 'iter_2.pth')['optimizer']
    assert set(state) == {'generator', 'discriminator'}
    assert state['generator']['param_groups'][0]['lr'] == 1e-4
    assert state['discriminator']['param_groups'][0]['betas'] == (0.5, 0.9)

    for manager in (DefaultScope, MessageHub, Visualizer):
        manager._instance_dict.clear()
    resumed = make_runner(tmp_path, max_iters=3, resume=True)
    resumed.train()  # loads iter_2.pth with weights_only=True, then one more D/G step
    assert resumed.iter == 3
    assert int(resumed.model.num_d_steps) == 3
