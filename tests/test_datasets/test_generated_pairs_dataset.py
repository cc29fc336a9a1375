"""GeneratedPairsDataset: stage-2 pairs from a frozen stage-1 GANSeg checkpoint (tiny, CPU):
the pool ('never') and fresh pairs every pass ('epoch', the official code), seeded per pair."""
import copy
import itertools

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import InfiniteSampler, pseudo_collate
from mmengine.registry import DefaultScope
from torch.utils.data import DataLoader

import partseg.datasets.generated_pairs_dataset as pairs_module
from partseg.datasets import GeneratedPairsDataset
from partseg.datasets.generated_pairs_dataset import sample_seed
from partseg.registry import DATASETS, MODELS

K, SIZE = 2, 16
GENERATOR = dict(
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
    scale_type='mean_abs')
MODEL = dict(
    type='GANSeg',
    generator=GENERATOR,
    discriminator=dict(type='GANSegDiscriminator', channels=(8, ), image_size=SIZE, fc_channels=4))


@pytest.fixture(autouse=True)
def single_thread_in_partseg_scope():
    """One thread; registries resolve in scope 'partseg' (as under the Runner)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with DefaultScope.overwrite_default_scope('partseg'):
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def stage1(tmp_path_factory):
    """A stage-1 model, its checkpoint in MMEngine's format (config text in meta.cfg, which the
    dataset never reads) and its stage-1 config file beside it (``stage1.py``)."""
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(MODEL))
    model.train()
    with torch.no_grad():  # move the BN running statistics away from their defaults
        for _ in range(2):
            model.generator(model.generator.sample_noise(4))
    path = tmp_path_factory.mktemp('stage1') / 'iter_2.pth'
    meta = dict(cfg=Config(dict(model=copy.deepcopy(MODEL))).pretty_text)
    torch.save(dict(meta=meta, state_dict=model.state_dict()), path)
    bare = path.with_name('bare.pth')
    torch.save(dict(state_dict=model.state_dict()), bare)
    Config(dict(model=copy.deepcopy(MODEL))).dump(str(path.with_name('stage1.py')))
    return model, path, bare


def expected_pair(model, seed, index):
    """Pair ``index`` computed from the stage-1 model itself: eval mode, its own seed."""
    out = model.generate(seeds=[sample_seed(seed, index)])
    image = ((out['image'][0] + 1) * 127.5).round().clamp(0, 255).byte().permute(1, 2, 0)
    return image.numpy(), out['masks'][0].argmax(0).numpy()


def assert_same_pair(info, image, labels):
    assert np.abs(info['img'].astype(int) - image.astype(int)).max() <= 1
    assert (info['gt_seg_map'] == labels).mean() > 0.99


def test_pairs_are_the_frozen_generators_samples(stage1):
    model, path, _ = stage1
    dataset = DATASETS.build(
        dict(
            type='GeneratedPairsDataset',
            checkpoint=str(path),
            stage1_config=str(path.with_name('stage1.py')),
            num_parts=K,
            num_samples=5,
            resample='never',
            num_epochs=1,
            batch_size=2,
            seed=1,
            pipeline=[dict(type='PackPartInputs')]))
    assert len(dataset) == 5
    assert dataset.metainfo['classes'] == ('background', 'part1', 'part2')
    info = dataset.get_data_info(3)
    assert info['img'].shape == (SIZE, SIZE, 3) and info['img'].dtype == np.uint8
    assert info['gt_seg_map'].shape == (SIZE, SIZE) and info['gt_seg_map'].dtype == np.uint8
    assert info['sample_idx'] == 3
    assert_same_pair(info, *expected_pair(model, 1, 3))
    packed = dataset[3]
    assert packed['inputs'].shape == (3, SIZE, SIZE)
    assert packed['data_samples'].gt_sem_seg.data.shape == (1, SIZE, SIZE)
    assert int(packed['data_samples'].gt_sem_seg.data.max()) <= K


def test_pool_does_not_depend_on_batch_size(stage1):
    _, path, _ = stage1
    a = GeneratedPairsDataset(
        str(path), K, generator=GENERATOR, num_samples=4, resample='never', batch_size=1)
    b = GeneratedPairsDataset(
        str(path), K, generator=GENERATOR, num_samples=4, resample='never', batch_size=4)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    other_seed = GeneratedPairsDataset(
        str(path), K, generator=GENERATOR, num_samples=4, resample='never', seed=1)
    assert not np.array_equal(a.images, other_seed.images)


def test_never_repeats_one_pool_in_every_pass(stage1):
    _, path, _ = stage1
    dataset = GeneratedPairsDataset(
        str(path), K, generator=GENERATOR, num_samples=3, resample='never', num_epochs=2)
    assert len(dataset) == 6 and dataset.images.shape == (3, SIZE, SIZE, 3)
    assert dataset._generator is None  # the pool is made; the generator is not kept
    second_pass = dataset.get_data_info(4)
    assert second_pass['sample_idx'] == 4
    assert np.array_equal(second_pass['img'], dataset.images[1])


def test_epoch_draws_fresh_pairs_every_pass(stage1):
    model, path, _ = stage1
    dataset = GeneratedPairsDataset(
        str(path), K, generator=GENERATOR, num_samples=3, resample='epoch', num_epochs=2, seed=2)
    assert len(dataset) == 6 and dataset.images is None  # nothing is stored
    pool = GeneratedPairsDataset(
        str(path), K, generator=GENERATOR, num_samples=3, resample='never', seed=2)
    for g in range(6):
        info = dataset.get_data_info(g)
        assert info['sample_idx'] == g
        assert_same_pair(info, *expected_pair(model, 2, g))  # pair g = seed (seed, g)
        if g < 3:  # pass 0 is the 'never' pool
            assert_same_pair(info, pool.images[g], pool.labels[g])
    # pass 1 is new: pair 3 + i is not pair i
    assert not np.array_equal(dataset.get_data_info(4)['img'], dataset.get_data_info(1)['img'])
    assert np.array_equal(dataset.get_data_info(-1)['img'], dataset.get_data_info(5)['img'])
    with pytest.raises(IndexError, match='index 6 out of range for 6 pairs'):
        dataset.get_data_info(6)


def test_a_loader_batch_is_generated_in_one_pass(stage1, monkeypatch):
    _, path, _ = stage1
    dataset = GeneratedPairsDataset(
        str(path),
        K,
        generator=GENERATOR,
        num_samples=4,
        num_epochs=2,
        batch_size=8,
        pipeline=[dict(type='PackPartInputs')])
    calls = []
    forward = dataset._generator.forward
    monkeypatch.setattr(dataset._generator, 'forward',
                        lambda noise: calls.append(len(noise['z_point'])) or forward(noise))
    batch = dataset.__getitems__([5, 2, 5, 7])
    assert calls == [3]  # pairs 5, 2, 7 in one generator batch
    assert [b['data_samples'].sample_idx for b in batch] == [5, 2, 5, 7]
    single = dataset[2]
    assert calls == [3, 1] and not dataset._fetched
    assert torch.equal(single['inputs'], batch[1]['inputs'])


def loader(dataset, num_workers=0):
    """What mmengine builds for the stage-2 configs: an InfiniteSampler, pseudo_collate."""
    return DataLoader(
        dataset,
        batch_size=2,
        sampler=InfiniteSampler(dataset, seed=3),
        num_workers=num_workers,
        collate_fn=pseudo_collate)


def indices_and_images(batches):
    return [([s.sample_idx for s in b['data_samples']], torch.stack(b['inputs'])) for b in batches]


def test_loader_is_reproducible_and_resumable(stage1):
    _, path, _ = stage1

    def build():
        return GeneratedPairsDataset(
            str(path),
            K,
            generator=GENERATOR,
            num_samples=3,
            num_epochs=2,
            pipeline=[dict(type='PackPartInputs')])

    run = indices_and_images(itertools.islice(iter(loader(build())), 6))
    # one pass over the dataset (3 batches of 2) shows each of its 6 pairs (2 epochs x 3) once
    assert sorted(i for idx, _ in run[:3] for i in idx) == list(range(6))
    # resume: IterBasedTrainLoop replays the sampler of a fresh loader, skipping done iterations
    it = iter(loader(build()))
    for _ in range(4):
        next(it)
    resumed = indices_and_images([next(it), next(it)])
    for (idx_a, img_a), (idx_b, img_b) in zip(run[4:], resumed):
        assert idx_a == idx_b and torch.equal(img_a, img_b)
    # a worker process generates the same pairs ('auto' -> the CPU in a worker)
    dataset = build()
    dataset.device = 'auto'
    workers = indices_and_images(itertools.islice(iter(loader(dataset, num_workers=1)), 2))
    for (idx_a, img_a), (idx_b, img_b) in zip(run[:2], workers):
        assert idx_a == idx_b and torch.equal(img_a, img_b)


def test_explicit_generator_config(stage1):
    _, path, bare = stage1
    with pytest.raises(ValueError, match=f'stage1_config nor .*generator is set.*{bare}'):
        GeneratedPairsDataset(str(bare), K, num_samples=1)
    dataset = GeneratedPairsDataset(str(bare), K, generator=GENERATOR, num_samples=1, num_epochs=1)
    assert len(dataset) == 1
    # the generator dict wins over the stage-1 config
    dataset = GeneratedPairsDataset(
        str(bare),
        K,
        generator=GENERATOR,
        stage1_config=str(bare.with_name('missing.py')),
        num_samples=1,
        num_epochs=1)
    assert len(dataset) == 1


def test_checkpoint_config_code_is_never_run(stage1, tmp_path):
    """A crafted checkpoint whose meta.cfg is config code that writes a file: the code is not run;
    without a config of the user's the dataset refuses in one line naming the checkpoint."""
    model, _, _ = stage1
    marker = tmp_path / 'pwned'
    crafted = tmp_path / 'crafted.pth'
    code = f"_ = __import__('pathlib').Path({str(marker)!r}).write_text('ran')\nmodel = {MODEL!r}\n"

    torch.save(dict(meta=dict(cfg=code), state_dict=model.state_dict()), crafted)
    with pytest.raises(ValueError) as error:
        GeneratedPairsDataset(str(crafted), K, num_samples=1, num_epochs=1)
    message = str(error.value)
    assert '\n' not in message and str(crafted) in message and 'never run' in message
    assert not marker.exists()
    # with the user's config the pairs come from the checkpoint's weights; meta.cfg is not read
    config = tmp_path / 'stage1.py'
    Config(dict(model=copy.deepcopy(MODEL))).dump(str(config))
    dataset = GeneratedPairsDataset(
        str(crafted), K, stage1_config=str(config), num_samples=2, resample='never', num_epochs=1)
    assert not marker.exists()
    assert_same_pair(dataset.get_data_info(1), *expected_pair(model, 0, 1))


def test_stage1_config_errors(stage1, tmp_path):
    _, path, _ = stage1
    with pytest.raises(
            FileNotFoundError, match=r'stage1_config: stage-1 config not found: .*no\.py'):
        GeneratedPairsDataset(str(path), K, stage1_config=str(tmp_path / 'no.py'), num_samples=1)
    segmenter = tmp_path / 'segmenter.py'
    Config(dict(model=dict(type='EncoderDecoder'))).dump(str(segmenter))
    with pytest.raises(KeyError, match=f'{segmenter} has no model.generator'):
        GeneratedPairsDataset(str(path), K, stage1_config=str(segmenter), num_samples=1)
    other = dict(GENERATOR, z_dim=4)  # a generator of another shape than the checkpoint's
    with pytest.raises(ValueError, match=f'generator weights in {path} do not fit'):
        GeneratedPairsDataset(str(path), K, generator=other, num_samples=1)


def test_bad_inputs(stage1, tmp_path, monkeypatch):
    _, path, _ = stage1
    with pytest.raises(ValueError, match='train_dataloader.dataset.checkpoint is not set'):
        GeneratedPairsDataset(None, K)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        GeneratedPairsDataset(str(tmp_path / 'missing.pth'), K, generator=GENERATOR)
    with pytest.raises(ValueError, match=r'num_parts=3 .* has K=2'):
        GeneratedPairsDataset(str(path), 3, generator=GENERATOR, num_samples=1)
    with pytest.raises(KeyError, match='EMA'):
        GeneratedPairsDataset(str(path), K, generator=GENERATOR, num_samples=1, use_ema=True)
    with pytest.raises(ValueError, match='num_samples'):
        GeneratedPairsDataset(str(path), K, generator=GENERATOR, num_samples=0)
    with pytest.raises(ValueError, match='num_epochs'):
        GeneratedPairsDataset(str(path), K, generator=GENERATOR, num_samples=1, num_epochs=0)
    with pytest.raises(ValueError, match="resample must be one of .*'always'"):
        GeneratedPairsDataset(str(path), K, generator=GENERATOR, num_samples=1, resample='always')
    # CUDA cannot run in a DataLoader worker process: a one-line error naming the fix
    dataset = GeneratedPairsDataset(str(path), K, generator=GENERATOR, num_samples=1, device='cuda')
    monkeypatch.setattr(pairs_module, 'get_worker_info', lambda: object())
    with pytest.raises(ValueError, match='train_dataloader.num_workers=0'):
        dataset.get_data_info(0)


def test_pool_generation_draws_a_progress_bar(stage1, capsys):
    """Issue 18.7: sampling the pool of pairs (minutes for 4,000) shows its progress; fetching a
    loader batch of 'epoch' pairs does not."""
    _, path, _ = stage1
    GeneratedPairsDataset(
        str(path), K, generator=GENERATOR, num_samples=6, resample='never', batch_size=2)
    err = capsys.readouterr().err
    assert 'generating 6 pairs' in err and '3/3' in err
    dataset = GeneratedPairsDataset(
        str(path), K, generator=GENERATOR, num_samples=6, resample='epoch', batch_size=2)
    dataset.__getitems__([0, 1])
    assert 'generating' not in capsys.readouterr().err
