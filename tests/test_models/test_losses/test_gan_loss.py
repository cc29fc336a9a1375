"""GANLoss, He et al. 2022 Eq. (13)-(14), against hand-computed softplus values."""
import math

import torch

from partseg.models.losses import GANLoss
from partseg.registry import MODELS


def test_gan_loss_real_and_fake_by_hand():
    logits = torch.tensor([[0.0], [math.log(3.0)]])
    loss = GANLoss()
    # judged real: softplus(-0) = ln 2, softplus(-ln 3) = ln(1 + 1/3) = ln(4/3)
    assert math.isclose(
        loss(logits, True).item(), (math.log(2) + math.log(4 / 3)) / 2, rel_tol=1e-6)
    # judged fake: softplus(0) = ln 2, softplus(ln 3) = ln(1 + 3) = ln 4
    assert math.isclose(loss(logits, False).item(), (math.log(2) + math.log(4)) / 2, rel_tol=1e-6)


def test_gan_loss_weight_and_registry():
    loss = MODELS.build(dict(type='GANLoss', loss_weight=2.0))
    logits = torch.zeros(3, 1)
    assert math.isclose(loss(logits, True).item(), 2 * math.log(2), rel_tol=1e-6)


def test_discriminator_loss_eq14_and_generator_gradient():
    # Eq. (14): L(D) = softplus(D(fake)) + softplus(-D(real)); Eq. (13) non-saturating for G
    loss = GANLoss()
    fake = torch.tensor([[0.0]], requires_grad=True)
    real = torch.tensor([[math.log(3.0)]])
    d_loss = loss(fake, False) + loss(real, True)
    assert math.isclose(d_loss.item(), math.log(2) + math.log(4 / 3), rel_tol=1e-6)
    loss(fake, True).backward()
    # d/dz softplus(-z) = -sigmoid(-z) = -0.5 at z = 0
    assert math.isclose(fake.grad.item(), -0.5, rel_tol=1e-6)
