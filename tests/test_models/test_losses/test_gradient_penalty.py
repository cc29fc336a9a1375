"""GradientPenaltyLoss, He et al. 2022 Eq. (15), on a linear D whose input gradient is w exactly."""
import math

import pytest
import torch

from partseg.models.losses import GradientPenaltyLoss

# D(x) = <w, x>: grad_x D = w for every image; ||w||^2 = 1 + 4 + 4 + 16 = 25, ||w|| = 5.
W = torch.tensor([[[[1.0, 2.0], [2.0, 4.0]]]])


def linear_d(x, w=W):
    return (x * w).sum((1, 2, 3))[:, None]  # (B, 1, 2, 2) -> (B, 1)


def test_r1_zero_centred_by_hand():
    x = torch.randn(2, 1, 2, 2, requires_grad=True)
    loss = GradientPenaltyLoss(loss_weight=10.0, center=0.0)
    assert math.isclose(loss(x, linear_d(x)).item(), 10 * 25, rel_tol=1e-6)


def test_one_centred_official_by_hand():
    x = torch.randn(3, 1, 2, 2, requires_grad=True)
    loss = GradientPenaltyLoss(loss_weight=10.0, center=1.0)
    assert math.isclose(loss(x, linear_d(x)).item(), 10 * (5 - 1)**2, rel_tol=1e-6)


def test_penalty_is_differentiable_in_d_parameters():
    w = W.clone().requires_grad_(True)
    x = torch.randn(2, 1, 2, 2, requires_grad=True)
    GradientPenaltyLoss(loss_weight=10.0)(x, linear_d(x, w)).backward()
    # d/dw 10 ||w||^2 = 20 w
    torch.testing.assert_close(w.grad, 20 * W)


def test_bad_inputs():
    with pytest.raises(ValueError, match='requires_grad|require grad'):
        x = torch.randn(1, 1, 2, 2)
        GradientPenaltyLoss()(x, linear_d(x))
    with pytest.raises(ValueError, match='center'):
        GradientPenaltyLoss(center=-1.0)
