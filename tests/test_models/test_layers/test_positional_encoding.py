"""Relative positional encoding (He et al. 2022 Eq. 5) and the margin grid / crop (Eq. 12)."""
import math

import pytest
import torch

from partseg.models.layers import (RelativePositionalEncoding, check_feature_map_sizes, crop_margin,
                                   margin_grid, upsample_and_crop, upsample_flags)


def test_margin_grid_centres_by_hand():
    grid = margin_grid(2, 3, margin=1, grid_type='centres')
    assert grid.shape == (4, 5, 2)
    # columns: x_j = -1 + (2j + 1) / 3 for j = -1..3; rows: y_i = -1 + (2i + 1) / 2 for i = -1..2
    xs = [-4 / 3, -2 / 3, 0.0, 2 / 3, 4 / 3]
    ys = [-1.5, -0.5, 0.5, 1.5]
    assert grid[0, :, 0].tolist() == pytest.approx(xs)
    assert grid[:, 0, 1].tolist() == pytest.approx(ys)
    # grid[i, j] = (x_j, y_i): x constant down a column, y constant along a row
    assert torch.equal(grid[:, 2, 0], torch.zeros(4))
    assert grid[3, :, 1].tolist() == pytest.approx([1.5] * 5)


def test_margin_grid_spans_eq12_range():
    # Eq. (12): a (H0 + 20) grid covering [-1 - 20/H0, 1 + 20/H0]; pixel cells of width 2/H0
    h0 = 32
    xs = margin_grid(h0, h0, margin=10)[0, :, 0]
    assert xs.numel() == h0 + 20
    half_cell = 1 / h0
    assert (xs[0] - half_cell).item() == pytest.approx(-1 - 20 / h0)
    assert (xs[-1] + half_cell).item() == pytest.approx(1 + 20 / h0)
    # inside the margin: the pixel centres (j + 0.5) / W of the project's convention, in [-1, 1]
    inner = xs[10:-10]
    assert inner.tolist() == pytest.approx([-1 + (2 * j + 1) / h0 for j in range(h0)])


def test_margin_grid_linspace_official():
    xs = margin_grid(3, 3, margin=1, grid_type='linspace')[0, :, 0]
    # linspace(-1, 1, 3) = -1, 0, 1, extended by one step of 1 on each side
    assert xs.tolist() == pytest.approx([-2.0, -1.0, 0.0, 1.0, 2.0])


def test_upsample_and_crop_maps_grid_to_next_resolution():
    # 2x bilinear upsampling keeps pixel centres, the crop puts the margin back to m: the coarse
    # margin grid becomes exactly the fine one (the clamped outer pixels are cropped away)
    coarse = margin_grid(4, 4, margin=2).permute(2, 0, 1)[None]  # (1, 2, 8, 8)
    fine = margin_grid(8, 8, margin=2).permute(2, 0, 1)[None]  # (1, 2, 12, 12)
    out = upsample_and_crop(coarse, margin=2)
    assert out.shape == (1, 2, 12, 12)
    assert torch.allclose(out, fine, atol=1e-6)


def test_crop_margin():
    x = torch.arange(36.0).view(1, 1, 6, 6)
    assert crop_margin(x, 2).flatten().tolist() == [14.0, 15.0, 20.0, 21.0]
    assert crop_margin(x, 0) is x


def test_feature_map_schedule():
    assert upsample_flags((32, 32, 64, 128)) == (False, True, True, False)
    assert upsample_flags((32, 32, 64, 64, 128, 128)) == (False, True, False, True, False, False)
    assert check_feature_map_sizes([8, 16]) == (8, 16)
    with pytest.raises(ValueError, match='double'):
        check_feature_map_sizes((8, 24))
    with pytest.raises(ValueError, match='mask_sizes'):
        check_feature_map_sizes((), key='mask_sizes')
    with pytest.raises(ValueError, match='margin'):
        margin_grid(4, 4, margin=-1)
    with pytest.raises(ValueError, match='grid_type'):
        margin_grid(4, 4, grid_type='corners')


def make_encoding(weight, num_points):
    enc = RelativePositionalEncoding(num_points, 2 * len(weight))
    with torch.no_grad():
        enc.fc.weight.copy_(torch.tensor(weight))
        enc.fc.bias.zero_()
    return enc


def test_eq5_sin_cos_by_hand():
    # one point at (0.5, 0); FC keeps the x difference: phase = pi (x_p - 0.5)
    enc = make_encoding([[1.0, 0.0]], num_points=1)
    grid = margin_grid(3, 3, margin=0, grid_type='linspace')[:1]  # (1, 3, 2): x = -1, 0, 1
    out = enc(torch.tensor([[[0.5, 0.0]]]), grid)
    assert out.shape == (1, 2, 1, 3)
    dx = [-1.5, -0.5, 0.5]
    assert out[0, 0, 0].tolist() == pytest.approx([math.sin(math.pi * d) for d in dx], abs=1e-6)
    assert out[0, 1, 0].tolist() == pytest.approx([math.cos(math.pi * d) for d in dx], abs=1e-6)


def test_eq5_point_major_channels():
    # two points; the FC input is (dx1, dy1, dx2, dy2): pick dy of point 2 and dx of point 1
    enc = make_encoding([[0.0, 0.0, 0.0, 1.0], [0.5, 0.0, 0.0, 0.0]], num_points=2)
    points = torch.tensor([[[0.0, 0.0], [0.0, -1.0]]])
    grid = torch.tensor([[[1.0, 0.5]]])  # one pixel at x = 1, y = 0.5
    out = enc(points, grid)[0, :, 0, 0]
    phases = [math.pi * (0.5 + 1.0), math.pi * 0.5 * 1.0]
    expected = [math.sin(p) for p in phases] + [math.cos(p) for p in phases]
    assert out.tolist() == pytest.approx(expected, abs=1e-6)


def test_moving_points_shifts_the_encoding():
    # Appendix E: only p - x enters, so a one-pixel move of every point is a one-pixel shift
    torch.manual_seed(0)
    enc = RelativePositionalEncoding(3, 8)
    grid = margin_grid(6, 6, margin=2)
    points = torch.rand(2, 3, 2) - 0.5
    step = torch.tensor([2 / 6, 0.0])  # one pixel right
    base, moved = enc(points, grid), enc(points + step, grid)
    assert torch.allclose(moved[..., 1:], base[..., :-1], atol=1e-5)
    assert not torch.allclose(moved, base, atol=1e-2)


def test_bad_arguments():
    with pytest.raises(ValueError, match='even'):
        RelativePositionalEncoding(2, 3)
    with pytest.raises(ValueError, match='num_points'):
        RelativePositionalEncoding(0, 4)
    with pytest.raises(ValueError, match='expected 2 points'):
        RelativePositionalEncoding(2, 4)(torch.zeros(1, 3, 2), margin_grid(2, 2))
