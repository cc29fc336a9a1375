"""Shared by the part-segmentor tests: mmengine isolation, the 16-px GANSeg generator and uint8
input batches. Nothing here is autouse: a test module opts in, e.g.
``pytestmark = pytest.mark.usefixtures('isolated')``."""
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope
from mmengine.visualization import Visualizer

from partseg.structures import PartDataSample


@pytest.fixture
def isolated():
    """One thread, a fixed seed, and no mmengine singletons leaking between tests."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    managers = (DefaultScope, MessageHub, Visualizer)
    for manager in managers:
        manager._instance_dict.clear()
    yield
    for manager in managers:
        manager._instance_dict.clear()
    torch.set_num_threads(threads)


@pytest.fixture
def ganseg_generator_cfg():
    """A GANSegGenerator config with K = 2 parts drawing 16 x 16 images (a fresh dict per test)."""
    return dict(
        type='GANSegGenerator',
        num_parts=2,
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


@pytest.fixture
def uint8_batch():
    """make(num, size, seed): a train_step batch of ``num`` random (3, size, size) uint8 images
    with empty PartDataSamples, the same for the same seed."""

    def make(num=2, size=16, seed=0):
        gen = torch.Generator().manual_seed(seed)
        inputs = [
            torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=gen)
            for _ in range(num)
        ]  # num x (3, size, size)
        return dict(inputs=inputs, data_samples=[PartDataSample() for _ in range(num)])

    return make
