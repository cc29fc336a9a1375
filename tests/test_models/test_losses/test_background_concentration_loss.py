"""Background concentration loss (Liu et al. 2021 Eq. 10-11) against hand-computed values.

3x3 grid, coordinate_range (0, 1): centres 1/6, 1/2, 5/6, so h = 1/6 on the border ring and 1/2 at
the centre pixel. 4x4 grid: centres 1/8, 3/8, 5/8, 7/8, so h = 1/8 on the ring, 3/8 inside.
"""
import pytest
import torch

from partseg.models.losses import BackgroundConcentrationLoss
from partseg.registry import MODELS


def _maps(bg: torch.Tensor) -> torch.Tensor:
    """(H, W) background map -> (1, 2, H, W) with one foreground channel 1 - bg."""
    return torch.stack([bg, 1 - bg]).unsqueeze(0).double()


def test_centre_pixel_3x3():
    bg = torch.zeros(3, 3)
    bg[1, 1] = 1.0
    assert BackgroundConcentrationLoss()(_maps(bg)).item() == pytest.approx(1 / 4)  # (1/2)^2
    # official margin 0.01 moves the borders outwards
    loss = BackgroundConcentrationLoss(border_margin=0.01)
    assert loss(_maps(bg)).item() == pytest.approx(0.51**2)


def test_border_pixel_3x3_and_loss_weight():
    bg = torch.zeros(3, 3)
    bg[0, 1] = 1.0  # h = min(1/2, 1/2, 1/6, 5/6) = 1/6
    loss = BackgroundConcentrationLoss(loss_weight=0.1)
    assert loss(_maps(bg)).item() == pytest.approx(0.1 / 36)


def test_uniform_3x3_clamp_vs_sum():
    # sum_uv h^2 = 8 (1/6)^2 + (1/2)^2 = 8/36 + 9/36 = 17/36; mass 9: clamp z = 1, sum z = 9
    bg = torch.ones(3, 3)
    assert BackgroundConcentrationLoss()(_maps(bg)).item() == pytest.approx(17 / 36)
    loss = BackgroundConcentrationLoss(normalizer='sum')
    assert loss(_maps(bg)).item() == pytest.approx(17 / 324)


def test_4x4_split_mass_and_batch_mean():
    bg = torch.zeros(4, 4)
    bg[1, 1] = 0.5  # inner pixel, h = 3/8
    bg[0, 3] = 0.5  # corner, h = 1/8
    # mass 1: 0.5 * 9/64 + 0.5 * 1/64 = 5/64
    first = _maps(bg)
    assert BackgroundConcentrationLoss()(first).item() == pytest.approx(5 / 64)
    # a second sample with all background mass 0.25 on one corner: z = 0.25, loss = 1/64
    bg2 = torch.zeros(4, 4)
    bg2[3, 3] = 0.25
    both = torch.cat([first, _maps(bg2)])
    assert BackgroundConcentrationLoss()(both).item() == pytest.approx((5 / 64 + 1 / 64) / 2)


def test_non_square_and_pixel_units():
    # H=2, W=4 in (0, 1): y centres 1/4, 3/4 (h_y = 1/4); x centres 1/8..7/8 (h_x = 1/8, 3/8).
    bg = torch.zeros(2, 4)
    bg[0, 1] = 1.0  # h = min(3/8, 1/4) = 1/4
    assert BackgroundConcentrationLoss()(_maps(bg)).item() == pytest.approx(1 / 16)
    # 3x3 centre pixel in (0, 3) units: h = 1.5
    bg = torch.zeros(3, 3)
    bg[1, 1] = 1.0
    loss = BackgroundConcentrationLoss(coordinate_range=(0, 3))
    assert loss(_maps(bg)).item() == pytest.approx(2.25)


def test_registry_and_errors():
    loss = MODELS.build(dict(type='BackgroundConcentrationLoss', loss_weight=1.0))
    assert isinstance(loss, BackgroundConcentrationLoss)
    with pytest.raises(ValueError, match=r'\(B, K\+1, H, W\)'):
        loss(torch.rand(3, 3))
    with pytest.raises(ValueError, match='normalizer'):
        BackgroundConcentrationLoss(normalizer='none')
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    out = loss(logits.softmax(1))
    out.backward()
    assert torch.isfinite(logits.grad).all()


def test_align_corners_official_grid():
    """Official grid on 3x3: pixels at 0, 1/2, 1; h = distance to the border + 0.01."""
    bg = torch.zeros(3, 3)
    bg[0, 1] = 0.5  # h = min(1/2, 1/2, 0, 1) + 0.01 = 0.01
    bg[1, 1] = 0.5  # h = 1/2 + 0.01
    loss = BackgroundConcentrationLoss(border_margin=0.01, align_corners=True)
    # z_0 = min(1, 1) = 1
    assert loss(_maps(bg)).item() == pytest.approx(0.5 * 0.01**2 + 0.5 * 0.51**2)
    # the pixel-centre grid gives another value (h = 1/6 + 0.01 on the border)
    default = BackgroundConcentrationLoss(border_margin=0.01)(_maps(bg)).item()
    assert default == pytest.approx(0.5 * (1 / 6 + 0.01)**2 + 0.5 * 0.51**2)
