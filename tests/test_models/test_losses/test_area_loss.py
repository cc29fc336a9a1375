"""AreaLoss, He et al. 2022 Eq. (17) and the official minimum area, with hand-computed sums."""
import math

import pytest
import torch

from partseg.models.losses import AreaLoss
from partseg.registry import MODELS


def test_heatmap_area_paper_by_hand():
    masks = torch.zeros(2, 2, 2, 2)
    heatmaps = torch.zeros(2, 2, 2, 2)
    # image 1: part 1 mask sums to 1.5 < heatmap 2.0 -> 0.5; part 2 mask 3.0 > heatmap 1.0 -> 0
    masks[0, 0, 0] = torch.tensor([1.0, 0.5])
    heatmaps[0, 0] = 0.5
    masks[0, 1, 0] = torch.tensor([1.0, 1.0])
    masks[0, 1, 1, 0] = 1.0
    heatmaps[0, 1, 0, 0] = 1.0
    # image 2: deficits 1 and 2 -> 3
    heatmaps[1, 0, 0, 0] = 1.0
    heatmaps[1, 1] = 0.5
    points = torch.zeros(2, 2, 4, 2)
    loss = AreaLoss()
    assert loss(masks, heatmaps, points).item() == pytest.approx((0.5 + 3.0) / 2)
    assert MODELS.build(dict(type='AreaLoss', loss_weight=2.0))(masks, heatmaps,
                                                                points).item() == pytest.approx(3.5)


def test_point_spread_area_official_by_hand():
    # points (+-0.5, 0), (0, +-0.5) around (0, 0): tau = mean |offset| over 4 points x 2 coords
    # = (0.5 * 4) / 8 = 0.25; on an 8x8 grid the radius is 0.25 * 8 / 2 = 1 pixel -> area pi
    points = torch.tensor([[[[0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.0, -0.5]]]])
    masks = torch.zeros(1, 1, 8, 8)
    heatmaps = torch.ones(1, 1, 8, 8)  # ignored by the official variant
    loss = AreaLoss(min_area='point_spread')
    assert loss(masks, heatmaps, points).item() == pytest.approx(math.pi)
    masks[0, 0, 0, 0] = 1.0
    assert loss(masks, heatmaps, points).item() == pytest.approx(math.pi - 1)
    masks[0, 0, 0, :4] = 1.0
    assert loss(masks, heatmaps, points).item() == 0.0


def test_bad_inputs():
    with pytest.raises(ValueError, match='min_area'):
        AreaLoss(min_area='disc')
    with pytest.raises(ValueError, match='same grid'):
        AreaLoss()(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 2))
