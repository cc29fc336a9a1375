"""PartHeatmaps, He et al. 2022 Eq. (4) and the official linear cone, against values by hand."""
import math

import pytest
import torch

from partseg.models.layers import PartHeatmaps
from partseg.registry import MODELS


def grid_of(points):
    """(H, W, 2) grid from a nested list of (x, y) pairs."""
    return torch.tensor(points, dtype=torch.float32)


def test_gaussian_eq4_by_hand():
    # one row of four pixels at x = 0, 1, 2, 3 (y = 0); part 1 at (1, 0) with sigma 1,
    # part 2 at (0, 0) with sigma 2
    grid = grid_of([[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]])
    locations = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    scales = torch.tensor([[1.0, 2.0]])
    heatmaps = PartHeatmaps('gaussian', eps=0.0)(locations, scales, grid)
    assert heatmaps.shape == (1, 2, 1, 4)
    # exp(-d^2 / sigma^2), sigma^2 not 2 sigma^2 (paper's note under Eq. 4)
    expected1 = [math.exp(-1), 1.0, math.exp(-1), math.exp(-4)]
    expected2 = [1.0, math.exp(-1 / 4), math.exp(-4 / 4), math.exp(-9 / 4)]
    assert heatmaps[0, 0, 0].tolist() == pytest.approx(expected1, abs=1e-6)
    assert heatmaps[0, 1, 0].tolist() == pytest.approx(expected2, abs=1e-6)


def test_gaussian_uses_both_axes():
    grid = grid_of([[[0.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [1.0, 1.0]]])  # (2, 2, 2)
    heatmaps = PartHeatmaps('gaussian', eps=0.0)(torch.zeros(1, 1, 2), torch.ones(1, 1), grid)
    # squared distances 0, 1 / 1, 2 from the origin
    expected = [1.0, math.exp(-1), math.exp(-1), math.exp(-2)]
    assert heatmaps[0, 0].flatten().tolist() == pytest.approx(expected, abs=1e-6)


def test_linear_cone_official_by_hand():
    # clamp(1 - d / tau, 0) with tau = 2: d = 0, 1, sqrt(2), 3 -> 1, 0.5, 1 - sqrt(2)/2, 0
    grid = grid_of([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [3.0, 0.0]]])
    heatmaps = MODELS.build(dict(type='PartHeatmaps', heatmap_type='linear',
                                 eps=0.0))(torch.zeros(1, 1, 2), torch.full((1, 1), 2.0), grid)
    expected = [1.0, 0.5, 1 - math.sqrt(2) / 2, 0.0]
    assert heatmaps[0, 0, 0].tolist() == pytest.approx(expected, abs=1e-6)


def test_batch_entries_are_independent():
    grid = grid_of([[[0.0, 0.0], [1.0, 0.0]]])
    locations = torch.tensor([[[0.0, 0.0]], [[1.0, 0.0]]])  # (B=2, K=1, 2)
    heatmaps = PartHeatmaps('linear', eps=0.0)(locations, torch.ones(2, 1), grid)
    assert heatmaps[0, 0, 0].tolist() == pytest.approx([1.0, 0.0])
    assert heatmaps[1, 0, 0].tolist() == pytest.approx([0.0, 1.0])


def test_collapsed_part_stays_finite():
    grid = grid_of([[[0.0, 0.0], [0.5, 0.0]]])
    for kind in ('gaussian', 'linear'):
        heatmaps = PartHeatmaps(kind)(torch.zeros(1, 1, 2), torch.zeros(1, 1), grid)
        assert torch.isfinite(heatmaps).all()
        assert heatmaps[0, 0, 0].tolist() == pytest.approx([1.0, 0.0])


def test_bad_type():
    with pytest.raises(ValueError, match='heatmap_type'):
        PartHeatmaps('cauchy')
