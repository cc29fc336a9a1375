"""coordinate_grid and part_centroids (Liu et al. 2021 Eq. (8)-(9)) on hand-computed 3 x 3 maps."""
import pytest
import torch

from partseg.utils.part_geometry import coordinate_grid, part_centroids


def test_coordinate_grid_is_pixel_centres_over_size():
    grid = coordinate_grid(2, 3, dtype=torch.float64)  # (H, W, 2) = (x, y)
    assert grid.shape == (2, 3, 2)
    torch.testing.assert_close(
        grid[..., 0], torch.tensor([[1, 3, 5], [1, 3, 5]]) / 6.0, check_dtype=False)
    torch.testing.assert_close(
        grid[..., 1], torch.tensor([[1, 1, 1], [3, 3, 3]]) / 4.0, check_dtype=False)


def test_part_centroids_eq8_on_a_3x3_map():
    # 3 x 3 pixel centres in normalised units: x, y in {1/6, 1/2, 5/6}
    maps = torch.zeros(1, 3, 3, 3, dtype=torch.float64)
    maps[0, 0, 1, 1] = 1.0  # part 0: one pixel in the middle -> (1/2, 1/2)
    maps[0, 1, 0, 1] = 1.0  # part 1: mass 1 at (x 1/2, y 1/6), mass 3 at (5/6, 5/6)
    maps[0, 1, 2, 2] = 3.0
    maps[0, 2, 0, 0] = 0.25  # part 2: total mass 0.5 < 1 at (1/6, 1/6) and (5/6, 1/6)
    maps[0, 2, 0, 2] = 0.25
    centres = part_centroids(maps)  # z_k = sum S_k, a weighted mean
    assert centres.shape == (1, 3, 2)
    # part 1: x = (1 * 1/2 + 3 * 5/6) / 4 = 3/4, y = (1 * 1/6 + 3 * 5/6) / 4 = 2/3
    expected = torch.tensor([[[1 / 2, 1 / 2], [3 / 4, 2 / 3], [1 / 2, 1 / 6]]], dtype=torch.float64)
    torch.testing.assert_close(centres, expected)
    # Eq. (9): z_k = min(sum S_k, 1). Part 1 (mass 4): z = 1 -> (3, 8/3); parts 0 and 2 have
    # mass <= 1, so z equals their mass and nothing changes
    clamped = part_centroids(maps, clamp_norm=True)
    expected[0, 1] = torch.tensor([3.0, 8 / 3], dtype=torch.float64)
    torch.testing.assert_close(clamped, expected)


def test_part_centroids_of_an_empty_map_are_finite_and_batched_like_a_loop():
    maps = torch.zeros(2, 1, 3, 3)
    maps[1, 0] = torch.arange(9.0).view(3, 3)
    centres = part_centroids(maps)
    assert torch.isfinite(centres).all() and centres[0].abs().max() == 0
    grid = coordinate_grid(3, 3)
    expected = (maps[1, 0, ..., None] * grid).sum((0, 1)) / maps[1, 0].sum()
    torch.testing.assert_close(centres[1, 0], expected)
    # the same map at 2x the resolution (each pixel -> 2 x 2) keeps its centroid
    upsampled = maps.repeat_interleave(2, -1).repeat_interleave(2, -2)
    torch.testing.assert_close(part_centroids(upsampled)[1, 0], expected)
    # column sums (9, 12, 15), row sums (3, 12, 21), total 36:
    # x = (9 * 1 + 12 * 3 + 15 * 5) / 6 / 36 = 5/9, y = (3 * 1 + 12 * 3 + 21 * 5) / 6 / 36 = 2/3
    assert expected.tolist() == pytest.approx([5 / 9, 2 / 3])


def test_align_corners_grid_and_centroids():
    """``align_corners=True``: pixel j at j / (W - 1) (torch.linspace(0, 1, W))."""
    grid = coordinate_grid(2, 3, dtype=torch.float64, align_corners=True)
    torch.testing.assert_close(grid[..., 0],
                               torch.tensor([[0, .5, 1], [0, .5, 1]], dtype=torch.float64))
    torch.testing.assert_close(grid[..., 1],
                               torch.tensor([[0, 0, 0], [1, 1, 1]], dtype=torch.float64))
    maps = torch.zeros(1, 1, 3, 3, dtype=torch.float64)
    maps[0, 0, 0, 0] = 1.0
    maps[0, 0, 2, 1] = 3.0  # x = (0 + 3 * 1/2) / 4 = 3/8, y = (0 + 3 * 1) / 4 = 3/4
    torch.testing.assert_close(
        part_centroids(maps, align_corners=True),
        torch.tensor([[[3 / 8, 3 / 4]]], dtype=torch.float64))
