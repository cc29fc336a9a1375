"""GANSeg collapse signals (issue "Training health"): the discriminator's accuracy on real and fake
images and the area of each of the K+1 masks, logged by train_step beside the losses but never
added to them; checked by hand on a 16-px model and in a Runner's log."""
import copy
import glob

import pytest
import torch
from mmengine.runner import Runner

import partseg.engine  # noqa: F401  (MultipleOptimWrapperConstructor, safe checkpoints)
from partseg.engine.optimizers import MultipleOptimWrapperConstructor
from partseg.models.part_segmentors import GANSeg
from partseg.registry import MODELS

# isolated, ganseg_generator_cfg (K = 2, 16 px) and uint8_batch: conftest.py of this folder
pytestmark = pytest.mark.usefixtures('isolated')

K, SIZE = 2, 16
OPTIM = dict(
    constructor='MultipleOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=0.0, betas=(0.5, 0.9))),
    discriminator=dict(optimizer=dict(type='Adam', lr=0.0, betas=(0.5, 0.9))))
SIGNALS = {'d_real_acc', 'd_fake_acc', 'area_bg', 'area_part1', 'area_part2'}


@pytest.fixture
def tiny(ganseg_generator_cfg):
    """A 16-px GANSeg with K = 2 parts and a one-block discriminator."""
    assert ganseg_generator_cfg['num_parts'] == K
    return dict(
        type='GANSeg',
        generator=ganseg_generator_cfg,
        discriminator=dict(
            type='GANSegDiscriminator', channels=(8, ), image_size=SIZE, fc_channels=8))


def wrappers(model):
    """The generator / discriminator Adam wrappers of OPTIM (learning rate 0)."""
    cfg = copy.deepcopy(OPTIM)
    cfg.pop('constructor')
    return MultipleOptimWrapperConstructor(cfg)(model)


def test_mask_areas_by_hand():
    # two 2 x 2 samples, K = 2: channel c's area = its mean over the batch and the pixels
    masks = torch.tensor([
        [[[1.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]],
        [[[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5], [0.0, 0.0]], [[0.0, 0.0], [0.5, 0.5]]],
    ])  # (B=2, K+1=3, 2, 2), softmax-like: channels sum to 1 at each pixel
    areas = GANSeg.mask_areas(masks.requires_grad_(True))
    assert list(areas) == ['area_bg', 'area_part1', 'area_part2']
    # bg: (2/4 + 4 * 0.5/4) / 2 = 0.5; part 1: (1/4 + 1/4) / 2 = 0.25; part 2 likewise 0.25
    assert [round(v.item(), 6) for v in areas.values()] == [0.5, 0.25, 0.25]
    assert not any(v.requires_grad for v in areas.values())


def test_train_step_logs_d_accuracy_and_areas_by_hand(tiny, uint8_batch):
    model = MODELS.build(tiny)
    optim = wrappers(model)
    noise = model.generator.sample_noise(2)
    model.generator.sample_noise = lambda batch_size, device: noise
    # D's logits fixed by hand: the D step scores [real_1, real_2, fake_1, fake_2]
    logits = torch.tensor([[1.5], [0.5], [-2.0], [0.25]])
    model.discriminator.forward = lambda x: x.sum((1, 2, 3))[:, None] * 0 + logits[:len(x)]
    log = model.train_step(uint8_batch(2, SIZE), optim)
    assert SIGNALS <= set(log)
    assert log['d_real_acc'].item() == 1.0  # D(real) > 0 for 2 of 2
    assert log['d_fake_acc'].item() == 0.5  # D(fake) < 0 for 1 of 2
    # zero learning rates, fixed noise: the areas are those of the generator's K+1 masks
    with torch.no_grad():
        masks = model.generator(noise)['masks']  # (2, K+1, 16, 16)
    expected = masks.mean((0, 2, 3))
    got = torch.stack([log['area_bg'], log['area_part1'], log['area_part2']])
    assert torch.allclose(got, expected, atol=1e-6)
    assert got.sum().item() == pytest.approx(1.0, abs=1e-5)


def test_signals_are_not_losses(tiny, uint8_batch):
    # mmengine sums only the keys containing 'loss' (BaseModel.parse_losses); GANSeg's own
    # train_step back-propagates only its loss terms: the signals are outside both
    model = MODELS.build(tiny)
    optim = wrappers(model)
    log = model.train_step(uint8_batch(2, SIZE), optim)
    assert not any('loss' in key for key in SIGNALS)
    total, parsed = model.parse_losses(dict(log))
    loss_terms = [value for key, value in log.items() if key.startswith('loss_')]
    assert len(loss_terms) >= 2
    assert total.item() == pytest.approx(sum(v.item() for v in loss_terms), rel=1e-6)
    assert parsed['loss'] is total and SIGNALS <= set(parsed)


def test_signals_reach_the_training_log(tmp_path, tiny):
    runner = Runner(
        model=tiny,
        work_dir=str(tmp_path),
        train_dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(
                type='SyntheticPartsDataset',
                num_samples=2,
                num_parts=K,
                image_size=SIZE,
                pipeline=[dict(type='LoadPartImage'),
                          dict(type='PackPartInputs')])),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=1),
        optim_wrapper=copy.deepcopy(OPTIM),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1), checkpoint=None),
        log_processor=dict(by_epoch=False),
        default_scope='partseg',
        randomness=dict(seed=0))
    runner.train()
    assert {f'train/{key}' for key in SIGNALS} <= set(runner.message_hub.log_scalars)
    log_file, = glob.glob(str(tmp_path / '*' / '*.log'))
    with open(log_file, encoding='utf-8') as f:
        line = next(line for line in f if 'd_real_acc' in line)
    for key in SIGNALS:
        assert f'{key}: ' in line
