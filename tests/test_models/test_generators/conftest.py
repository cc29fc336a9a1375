"""Tiny GANSeg generator pieces shared by the generator tests (CPU, a few kilobytes of weights)."""
import pytest
import torch

from partseg.models.generators import GANSegGenerator

TINY = dict(
    z_dim=8,
    emb_dim=8,
    spade_hidden=8,
    adain_hidden=8,
    feature_map_sizes=(8, 8, 16),
    mask_channels=(16, 8, 8),
    fg_channels=(16, 8, 8),
    bg_channels=(16, 8, 8),
    heatmap_type='linear',
    scale_type='mean_abs',
    init_cfg=None)


def _spread_parts(num_parts=3, n_per=4, batch_size=2, seed=0):
    """Points spread over the image: (B, K, n_per, 2) points, (B, K, 2) locations, (B, K) scales."""
    gen = torch.Generator().manual_seed(seed)
    centres = (torch.rand(batch_size, num_parts, 1, 2, generator=gen) - 0.5) * 1.0
    points = centres + 0.3 * (torch.rand(batch_size, num_parts, n_per, 2, generator=gen) - 0.5)
    locations = points.mean(2)
    scales = (points - locations[:, :, None]).abs().mean((2, 3))
    return points, locations, scales


@pytest.fixture(autouse=True)
def single_thread():
    """One intra-op thread: these tiny convolutions are 50x slower with 2 threads on a busy host."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_generator():
    """A 3-block (8, 8, 16) generator with K = 3, PyTorch's default init, in eval mode."""

    def build(num_parts=3, **overrides):
        torch.manual_seed(0)
        return GANSegGenerator(num_parts, **{**TINY, **overrides}).eval()

    return build


@pytest.fixture
def spread_parts():
    """Factory of points spread over the image (see :func:`_spread_parts`)."""
    return _spread_parts
