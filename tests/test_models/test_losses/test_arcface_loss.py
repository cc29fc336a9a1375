"""ArcFace part classification loss (Liu et al. 2021 Eq. 6) against hand-computed values."""
import math

import pytest
import torch

from partseg.models.losses import ArcFaceLoss
from partseg.registry import MODELS


def _deg(d: float) -> float:
    return math.radians(d)


def _ce(target_logit: float, other_logit: float) -> float:
    """-log(e^t / (e^t + e^o)) for a 2-class row."""
    return math.log(1 + math.exp(other_logit - target_logit))


def _loss(s: float, m: float, **kwargs) -> ArcFaceLoss:
    loss = ArcFaceLoss(num_classes=2, in_channels=2, s=s, m=m, **kwargs)
    with torch.no_grad():
        loss.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 0.5]]))  # W_0 = x axis, W_1 = y axis
    return loss


def _features(*angles_deg) -> torch.Tensor:
    """(1, 2, 2) part features at the given angles from the x axis (norms differ on purpose)."""
    rows = [[3 * math.cos(_deg(a)), 3 * math.sin(_deg(a))] for a in angles_deg]
    return torch.tensor([rows], dtype=torch.float64)


def test_two_parts_with_known_angles():
    s, m = 2.0, 0.5
    loss = _loss(s, m).double()
    # row 0 at 30 deg: theta_00 = 30 deg, theta_10 = 60 deg -> logits s cos(30deg + m), s cos 60deg
    # row 1 at 90 deg: theta_11 = 0, theta_01 = 90 deg -> logits s cos(m), s cos 90deg = 0
    row0 = _ce(s * math.cos(_deg(30) + m), s * math.cos(_deg(60)))
    row1 = _ce(s * math.cos(m), 0.0)
    out = loss(_features(30, 90))
    assert out.item() == pytest.approx((row0 + row1) / 2, rel=1e-9)


def test_no_margin_is_scaled_cosine_softmax_and_loss_weight():
    s = 20.0
    loss = _loss(s, 0.0, loss_weight=1.5).double()
    row0 = _ce(s * math.cos(_deg(10)), s * math.cos(_deg(80)))
    row1 = _ce(s * math.cos(_deg(45)), s * math.cos(_deg(45)))  # row 1 at 45 deg: a tie
    out = loss(_features(10, 45))
    assert out.item() == pytest.approx(1.5 * (row0 + row1) / 2, rel=1e-9)


def test_batch_mean_over_all_rows():
    s, m = 2.0, 0.5
    loss = _loss(s, m).double()
    feats = torch.cat([_features(30, 90), _features(0, 90)])
    row0 = _ce(s * math.cos(_deg(30) + m), s * math.cos(_deg(60)))
    row1 = _ce(s * math.cos(m), 0.0)
    row2 = _ce(s * math.cos(m), 0.0)  # 0 deg: theta_00 = 0, theta_10 = 90
    assert loss(feats).item() == pytest.approx((row0 + row1 + row1 + row2) / 4, rel=1e-9)


def test_target_fallback_beyond_pi():
    s, m = 2.0, 0.5
    # row 0 at 170 deg: theta_00 + m > pi; cos(170deg) < cos(pi - m), so the official code uses
    # cos(theta) - m sin(m) instead of cos(theta + m). theta_10 = 80 deg.
    cos_t = math.cos(_deg(170))
    row0_official = _ce(s * (cos_t - m * math.sin(m)), s * math.cos(_deg(80)))
    row0_paper = _ce(s * math.cos(_deg(170) + m), s * math.cos(_deg(80)))
    row1 = _ce(s * math.cos(m), 0.0)
    feats = _features(170, 90)
    official = _loss(s, m, target_fallback=True).double()(feats).item()
    paper = _loss(s, m).double()(feats).item()
    assert official == pytest.approx((row0_official + row1) / 2, rel=1e-9)
    assert paper == pytest.approx((row0_paper + row1) / 2, rel=1e-9)


def test_gradient_reaches_basis_and_features():
    loss = ArcFaceLoss(num_classes=3, in_channels=8)
    feats = torch.randn(4, 3, 8, requires_grad=True)
    loss(feats).backward()
    assert loss.weight.grad is not None and torch.isfinite(loss.weight.grad).all()
    assert torch.isfinite(feats.grad).all()
    # exactly aligned features (cos = 1) keep finite gradients
    aligned = loss.weight.detach().clone().unsqueeze(0).requires_grad_(True)
    loss(aligned).backward()
    assert torch.isfinite(aligned.grad).all()


def test_registry_and_validation():
    loss = MODELS.build(dict(type='ArcFaceLoss', num_classes=4, in_channels=16, s=30.0))
    assert loss.weight.shape == (4, 16) and loss.s == 30.0
    with pytest.raises(ValueError, match=r'\(B, 4, 16\)'):
        loss(torch.randn(2, 5, 16))
    with pytest.raises(ValueError, match='num_classes'):
        ArcFaceLoss(num_classes=0, in_channels=4)


def test_skip_background_row_official_reduction():
    """Official ArcFaceLoss(skip_bg=True): K+1 classes, rows 1..K classified, sum / (K + 1)."""
    s, m = 2.0, 0.5
    loss = ArcFaceLoss(num_classes=3, in_channels=2, s=s, m=m, skip_background_row=True).double()
    with torch.no_grad():  # W_0 = x axis, W_1 = y axis, W_2 = -x axis
        loss.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
    # rows (background, part 1, part 2) at 45, 90 and 180 degrees
    feats = torch.tensor([[[1.0, 1.0], [0.0, 2.0], [-3.0, 0.0]]], dtype=torch.float64)

    def ce(logits, target):
        return -logits[target] + math.log(sum(math.exp(v) for v in logits))

    # part 1 at 90 deg: theta to W_1 = 0 (target), to W_0 and W_2 = 90 deg
    row1 = ce([0.0, s * math.cos(m), 0.0], 1)
    # part 2 at 180 deg: theta to W_2 = 0 (target), to W_0 = 180 deg, to W_1 = 90 deg
    row2 = ce([-s, 0.0, s * math.cos(m)], 2)
    assert loss(feats).item() == pytest.approx((row1 + row2) / 3, rel=1e-9)
    # the background row does not change the loss; its class does
    feats2 = feats.clone()
    feats2[0, 0] = torch.tensor([5.0, -7.0])
    assert loss(feats2).item() == pytest.approx(loss(feats).item(), rel=1e-12)
    with pytest.raises(ValueError, match='num_classes >= 2'):
        ArcFaceLoss(num_classes=1, in_channels=2, skip_background_row=True)
