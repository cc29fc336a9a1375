"""RandomTPS (Liu et al. 2021 appendix A.1, Jakab et al.'s sampler): the grid by hand and against
kornia's warp_points_tps; the sampler's statistics are tested through TPSPairPreprocessor."""
import pytest
import torch
from kornia.geometry.transform import warp_points_tps

from partseg.models.layers import RandomTPS

IDENTITY_AFFINE = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])


def pixel_centres(h, w):
    ys = (torch.arange(h) + 0.5) / h * 2 - 1
    xs = (torch.arange(w) + 0.5) / w * 2 - 1
    return torch.stack(torch.meshgrid(xs, ys, indexing='xy'), -1)  # (h, w, 2) as (x, y)


def test_one_control_point_by_hand():
    tps = RandomTPS(grid_size=2)  # control points (-1, -1), (1, -1), (-1, 1), (1, 1)
    assert tps.control_points.tolist() == [[-1, -1], [1, -1], [-1, 1], [1, 1]]
    kernel_weights = torch.zeros(1, 4, 2)
    kernel_weights[0, 0, 0] = 0.3  # only point (-1, -1), only the x coordinate
    centers = tps.control_points.expand(1, 4, 2)
    grid = tps.grid((centers, kernel_weights, IDENTITY_AFFINE), (2, 3))
    p = pixel_centres(2, 3)
    d2 = (p + 1).pow(2).sum(-1)  # squared distance to (-1, -1); never 0 at pixel centres
    expected = p.clone()
    expected[..., 0] += 0.3 * 0.5 * d2 * d2.log()  # kornia's kernel r^2 log r = (d2 log d2) / 2
    torch.testing.assert_close(grid[0], expected)


def test_identity_when_every_std_is_zero():
    tps = RandomTPS(grid_size=3, point_std=0, extra_point_std=0, translation_std=0)
    warps = tps.sample(2, torch.device('cpu'), torch.float32)
    torch.testing.assert_close(tps.grid(warps, (4, 5)), pixel_centres(4, 5).expand(2, 4, 5, 2))


def test_translation_is_output_to_source():
    tps = RandomTPS(grid_size=2)
    affine = IDENTITY_AFFINE.clone()
    affine[0, 0, 0] = 2 / 8  # one pixel of 8 in [-1, 1]
    grid = tps.grid((tps.control_points.expand(1, 4, 2), torch.zeros(1, 4, 2), affine), (1, 8))
    image = torch.arange(8.0).view(1, 1, 1, 8)
    shifted = torch.nn.functional.grid_sample(image, grid, align_corners=False)
    assert shifted.flatten().tolist() == [1, 2, 3, 4, 5, 6, 7, 0]


@pytest.mark.parametrize('shared', [True, False])
def test_grid_equals_kornia_warp_points_tps(shared):
    torch.manual_seed(0)
    tps = RandomTPS(grid_size=4, point_std=0.05, rotation_std=10.0, scale_std=0.1)
    centers, kernel_weights, affine = tps.sample(3, torch.device('cpu'), torch.float64)
    if not shared:  # each warp its own control points
        centers = centers + 0.1 * torch.randn_like(centers)
    h, w = 5, 7
    points = pixel_centres(h, w).to(torch.float64).reshape(1, h * w, 2).expand(3, h * w, 2)
    expected = warp_points_tps(points, centers, kernel_weights, affine).view(3, h, w, 2)
    torch.testing.assert_close(tps.grid((centers, kernel_weights, affine), (h, w)), expected)


def test_cached_basis_follows_size_and_is_only_used_for_the_own_control_points():
    torch.manual_seed(0)
    tps = RandomTPS(grid_size=3, point_std=0.05)
    warps = tps.sample(2, torch.device('cpu'), torch.float32)
    assert warps[0].stride(0) == 0  # one (N, 2) tensor expanded over the batch
    first = tps.grid(warps, (4, 4))
    assert tps._basis_cache is not None and tps._basis_cache[0][:2] == (4, 4)
    assert tps.grid(warps, (6, 2)).shape == (2, 6, 2, 2)
    torch.testing.assert_close(tps.grid(warps, (4, 4)), first)
    points = pixel_centres(4, 4).reshape(1, 16, 2).expand(2, 16, 2)
    # other control points, shared (expanded) or one per warp: never the cached basis
    for centers in ((tps.control_points * 0.5).expand(2, 9, 2), warps[0] * 0.5):
        moved = (centers, ) + warps[1:]
        torch.testing.assert_close(
            tps.grid(moved, (4, 4)),
            warp_points_tps(points, *moved).view(2, 4, 4, 2))
    torch.testing.assert_close(tps.grid(warps, (4, 4)), first)


def test_bad_arguments():
    with pytest.raises(ValueError, match='grid_size'):
        RandomTPS(grid_size=1)
    with pytest.raises(ValueError, match='rotation_std'):
        RandomTPS(rotation_std=-1.0)
    with pytest.raises(ValueError, match='extra_point_prob'):
        RandomTPS(extra_point_prob=1.5)
