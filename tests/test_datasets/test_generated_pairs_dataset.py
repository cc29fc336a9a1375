"""GeneratedPairsDataset: stage-2 pairs from a frozen stage-1 GANSeg checkpoint (tiny, CPU)."""
import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from partseg.datasets import GeneratedPairsDataset
from partseg.datasets.generated_pairs_dataset import sample_seed
from partseg.registry import DATASETS, MODELS

K, SIZE = 2, 16
GENERATOR = dict(type='GANSegGenerator', num_parts=K, z_dim=8, emb_dim=8, spade_hidden=8,
                 adain_hidden=8, feature_map_sizes=(8, 16), mask_channels=(16, 8),
                 fg_channels=(16, 8), bg_channels=(16, 8), margin=4, heatmap_type='linear',
                 scale_type='mean_abs')
MODEL = dict(type='GANSeg', generator=GENERATOR,
             discriminator=dict(type='GANSegDiscriminator', channels=(8, ), image_size=SIZE,
                                fc_channels=4))


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
    """A stage-1 model and its checkpoint in MMEngine's format (config text in meta.cfg)."""
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
    return model, path, bare


def test_pairs_are_the_frozen_generators_samples(stage1):
    model, path, _ = stage1
    dataset = DATASETS.build(dict(type='GeneratedPairsDataset', checkpoint=str(path), num_parts=K,
                                  num_samples=5, batch_size=2, seed=1,
                                  pipeline=[dict(type='PackPartInputs')]))
    assert len(dataset) == 5
    assert dataset.metainfo['classes'] == ('background', 'part1', 'part2')
    info = dataset.get_data_info(3)
    assert info['img'].shape == (SIZE, SIZE, 3) and info['img'].dtype == np.uint8
    assert info['gt_seg_map'].shape == (SIZE, SIZE) and info['gt_seg_map'].dtype == np.uint8
    # the same sample from the model itself: eval mode (running BN statistics), its own seed
    out = model.generate(seeds=[sample_seed(1, 3)])
    expected_img = ((out['image'][0] + 1) * 127.5).round().clamp(0, 255).byte().permute(1, 2, 0)
    assert np.abs(info['img'].astype(int) - expected_img.numpy().astype(int)).max() <= 1
    labels = out['masks'][0].argmax(0).numpy()
    assert (info['gt_seg_map'] == labels).mean() > 0.99
    packed = dataset[3]
    assert packed['inputs'].shape == (3, SIZE, SIZE)
    assert packed['data_samples'].gt_sem_seg.data.shape == (1, SIZE, SIZE)
    assert int(packed['data_samples'].gt_sem_seg.data.max()) <= K


def test_pool_does_not_depend_on_batch_size(stage1):
    _, path, _ = stage1
    a = GeneratedPairsDataset(str(path), K, num_samples=4, batch_size=1)
    b = GeneratedPairsDataset(str(path), K, num_samples=4, batch_size=4)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    other_seed = GeneratedPairsDataset(str(path), K, num_samples=4, seed=1)
    assert not np.array_equal(a.images, other_seed.images)


def test_explicit_generator_config(stage1):
    _, _, bare = stage1
    with pytest.raises(KeyError, match='no config'):
        GeneratedPairsDataset(str(bare), K, num_samples=1)
    dataset = GeneratedPairsDataset(str(bare), K, generator=GENERATOR, num_samples=1)
    assert len(dataset) == 1


def test_bad_inputs(stage1, tmp_path):
    _, path, _ = stage1
    with pytest.raises(ValueError, match='train_dataloader.dataset.checkpoint is not set'):
        GeneratedPairsDataset(None, K)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        GeneratedPairsDataset(str(tmp_path / 'missing.pth'), K)
    with pytest.raises(ValueError, match=r'num_parts=3 .* has K=2'):
        GeneratedPairsDataset(str(path), 3, num_samples=1)
    with pytest.raises(KeyError, match='EMA'):
        GeneratedPairsDataset(str(path), K, num_samples=1, use_ema=True)
    with pytest.raises(ValueError, match='num_samples'):
        GeneratedPairsDataset(str(path), K, num_samples=0)
