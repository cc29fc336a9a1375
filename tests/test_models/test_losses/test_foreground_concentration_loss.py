"""Foreground concentration loss (Liu et al. 2021 Eq. 7-9) against hand-computed 3x3 values.

On a 3x3 map with coordinate_range (0, 1), pixel centres sit at 1/6, 1/2, 5/6 on each axis.
"""
import pytest
import torch

from partseg.models.losses import ForegroundConcentrationLoss
from partseg.registry import MODELS


def _maps(fg: torch.Tensor) -> torch.Tensor:
    """Stack a background channel 1 - sum(fg) in front of fg (K, H, W) -> (1, K+1, H, W)."""
    return torch.cat([1 - fg.sum(0, keepdim=True), fg]).unsqueeze(0).double()


def test_single_pixel_part_has_zero_loss():
    fg = torch.zeros(1, 3, 3)
    fg[0, 1, 2] = 1.0
    assert ForegroundConcentrationLoss()(_maps(fg)).item() == pytest.approx(0.0, abs=1e-12)


def test_mass_split_over_two_pixels():
    # 0.5 at (x, y) = (1/6, 1/6) and 0.5 at (5/6, 1/6): centre (1/2, 1/6), each pixel 1/3 away,
    # mass 1 so z = 1: loss = 0.5 (1/3)^2 + 0.5 (1/3)^2 = 1/9.
    fg = torch.zeros(1, 3, 3)
    fg[0, 0, 0] = fg[0, 0, 2] = 0.5
    assert ForegroundConcentrationLoss()(_maps(fg)).item() == pytest.approx(1 / 9)
    # SCOPS's z = sum is the same for mass 1; lambda_fg multiplies.
    loss = ForegroundConcentrationLoss(loss_weight=0.5, normalizer='sum')
    assert loss(_maps(fg)).item() == pytest.approx(0.5 / 9)


def test_clamp_and_sum_normalizers_differ_above_unit_mass():
    # mass 2 (1 at two pixels): sum_uv d^2 S = 2/9; clamp z = min(2, 1) = 1, sum z = 2.
    fg = torch.zeros(1, 3, 3)
    fg[0, 0, 0] = fg[0, 0, 2] = 1.0
    maps = _maps(fg)
    assert ForegroundConcentrationLoss(normalizer='clamp')(maps).item() == pytest.approx(2 / 9)
    assert ForegroundConcentrationLoss(normalizer='sum')(maps).item() == pytest.approx(1 / 9)


def test_literal_clamped_centroids():
    # Eq. (8) with Eq. (9)'s z = 1: c = sum u S = (1/6 + 5/6, 1/6 + 1/6) = (1, 1/3).
    # loss = |(1/6,1/6)-(1,1/3)|^2 + |(5/6,1/6)-(1,1/3)|^2 = 26/36 + 2/36 = 7/9.
    fg = torch.zeros(1, 3, 3)
    fg[0, 0, 0] = fg[0, 0, 2] = 1.0
    maps = _maps(fg)
    assert ForegroundConcentrationLoss(clamp_centroids=True)(maps).item() == pytest.approx(7 / 9)
    # in (-1, 1): x = -2/3, 2/3, y = -2/3; c = (0, -4/3); 4 * (1/9 + 1/9 + 1/9 + 1/9) = 16/9
    loss = ForegroundConcentrationLoss(clamp_centroids=True, coordinate_range=(-1, 1))
    assert loss(maps).item() == pytest.approx(16 / 9)


def test_coordinate_range_scales_the_variance():
    fg = torch.zeros(1, 3, 3)
    fg[0, 0, 0] = fg[0, 0, 2] = 0.5
    maps = _maps(fg)
    # (-1, 1) doubles distances: 4/9. Pixel units (0, 3): centres 0.5 and 2.5, 1 away: 1.
    assert ForegroundConcentrationLoss(coordinate_range=(-1,
                                                         1))(maps).item() == pytest.approx(4 / 9)
    assert ForegroundConcentrationLoss(coordinate_range=(0, 3))(maps).item() == pytest.approx(1.0)


def test_mean_over_parts_and_batch():
    # sample 0: part 1 on one pixel (0), part 2 split as above (1/9); sample 1: both on one pixel.
    first = torch.zeros(2, 3, 3)
    first[0, 1, 1] = 1.0
    first[1, 0, 0] = first[1, 0, 2] = 0.5
    second = torch.zeros(2, 3, 3)
    second[0, 2, 2] = second[1, 2, 0] = 1.0
    maps = torch.cat([_maps(first), _maps(second)])
    # parts mean: (0 + 1/9) / 2 = 1/18, batch mean 1/36; official sum over parts: 1/18.
    assert ForegroundConcentrationLoss()(maps).item() == pytest.approx(1 / 36)
    loss = ForegroundConcentrationLoss(part_reduction='sum')
    assert loss(maps).item() == pytest.approx(1 / 18)


def test_empty_part_and_gradients_are_finite():
    logits = torch.randn(2, 4, 5, 5, requires_grad=True)
    maps = logits.softmax(1)
    maps = torch.cat([maps[:, :3], torch.zeros_like(maps[:, 3:])], 1)  # part 3 is empty
    loss = ForegroundConcentrationLoss()(maps)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_builds_from_registry_and_rejects_bad_input():
    loss = MODELS.build(dict(type='ForegroundConcentrationLoss', loss_weight=0.3))
    assert isinstance(loss, ForegroundConcentrationLoss) and loss.loss_weight == 0.3
    with pytest.raises(ValueError, match='K >= 1'):
        loss(torch.rand(1, 1, 3, 3))
    with pytest.raises(ValueError, match='normalizer'):
        ForegroundConcentrationLoss(normalizer='max')
    with pytest.raises(ValueError, match='coordinate_range'):
        ForegroundConcentrationLoss(coordinate_range=(1, 0))
    with pytest.raises(TypeError):
        MODELS.build(dict(type='ForegroundConcentrationLoss', loss_wieght=1.0))


def test_align_corners_official_grid_and_part_sum():
    """Official grid on 3x3: pixels at 0, 1/2, 1; ``part_reduction='sum'`` adds the parts."""
    fg = torch.zeros(2, 3, 3)
    fg[0, 0, 0] = fg[0, 0, 2] = 0.5  # part 1: two half pixels 1 apart in x; centre (1/2, 0)
    fg[1, 1, 1] = 0.25  # part 2: one pixel, mass 1/4: zero spread
    loss = ForegroundConcentrationLoss(align_corners=True, part_reduction='sum')
    # part 1: z = 1, sum S d^2 = 2 x 0.5 x (1/2)^2 = 1/4; part 2: 0
    assert loss(_maps(fg)).item() == pytest.approx(0.25)
    # pixel-centre grid: the two pixels are 2/3 apart, d = 1/3
    default = ForegroundConcentrationLoss(part_reduction='sum')(_maps(fg)).item()
    assert default == pytest.approx(1 / 9)
    # mean over the two parts halves it
    mean = ForegroundConcentrationLoss(align_corners=True)(_maps(fg)).item()
    assert mean == pytest.approx(0.125)
