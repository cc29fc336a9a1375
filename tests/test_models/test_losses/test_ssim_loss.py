"""SSIM loss (Wang et al. 2004 Eq. 13) against closed forms and hand values."""
import kornia
import pytest
import torch

from partseg.models.losses import SSIMLoss
from partseg.registry import MODELS

C1, C2 = 0.01**2, 0.03**2


def test_identical_images_have_zero_loss():
    img = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    assert SSIMLoss().double()(img, img.clone()).item() == pytest.approx(0.0, abs=1e-10)


def test_constant_images_closed_form():
    # constant a and b: sigma terms vanish, SSIM = (2ab + C1) / (a^2 + b^2 + C1)
    a, b = 0.2, 0.7
    x = torch.full((1, 3, 16, 16), a, dtype=torch.float64)
    y = torch.full((1, 3, 16, 16), b, dtype=torch.float64)
    expected = 1 - (2 * a * b + C1) / (a * a + b * b + C1)
    assert SSIMLoss().double()(x, y).item() == pytest.approx(expected, rel=1e-9)


def test_one_pixel_window_by_hand():
    # window 1: mu = pixel value, sigma = 0, SSIM per pixel = (2xy + C1) / (x^2 + y^2 + C1)
    x = torch.tensor([[[[0.0, 0.5], [1.0, 0.25]]]], dtype=torch.float64)
    y = torch.tensor([[[[0.0, 1.0], [1.0, 0.75]]]], dtype=torch.float64)
    per_pixel = [1.0, (1.0 + C1) / (1.25 + C1), 1.0, (0.375 + C1) / (0.625 + C1)]
    loss = SSIMLoss(window_size=1).double()
    assert loss(x, y).item() == pytest.approx(1 - sum(per_pixel) / 4, rel=1e-9)
    # a mask keeping the right column averages pixels 1 and 3 only
    mask = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]], dtype=torch.float64)
    expected = 1 - (per_pixel[1] + per_pixel[3]) / 2
    assert loss(x, y, mask).item() == pytest.approx(expected, rel=1e-9)


def test_matches_kornia_valid_ssim():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    reference = kornia.metrics.ssim(x, y, 11, padding='valid').mean()
    assert SSIMLoss().double()(x, y).item() == pytest.approx(1 - reference.item(), rel=1e-6)


def test_all_ones_mask_and_gradient():
    x = torch.rand(1, 3, 13, 13, requires_grad=True)
    y = torch.rand(1, 3, 13, 13)
    loss = SSIMLoss(loss_weight=2.0)
    assert loss(x, y, torch.ones(1, 1, 13, 13)).item() == pytest.approx(loss(x, y).item(), rel=1e-5)
    loss(x, y).backward()
    assert torch.isfinite(x.grad).all()


def test_registry_and_errors():
    loss = MODELS.build(dict(type='SSIMLoss', window_size=7))
    assert loss.window_size == 7
    with pytest.raises(ValueError, match='smaller than'):
        loss(torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 5))
    with pytest.raises(ValueError, match='window_size'):
        SSIMLoss(window_size=4)
    with pytest.raises(ValueError, match='mask must be'):
        loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), torch.ones(1, 3, 8, 8))


def test_float32_without_gradient_matches_float64():
    # kornia takes another code path (channels-last) for float32 CPU images without gradient
    torch.manual_seed(1)
    x = torch.rand(2, 3, 20, 20, dtype=torch.float64)
    y = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
    mask = (torch.rand(2, 1, 20, 20) > 0.5).double()
    with torch.no_grad():
        single = SSIMLoss()(x.float(), y.float(), mask.float()).item()
    assert single == pytest.approx(SSIMLoss()(x, y, mask).item(), rel=1e-5)
