"""Pixel reconstruction loss against hand-computed values on a 1x2 image."""
import pytest
import torch

from partseg.models.losses import PixelReconstructionLoss
from partseg.registry import MODELS


def _pair():
    # one sample, 2 channels, 1x2 pixels; errors: channel 0 (0.5, -1), channel 1 (0, 2)
    pred = torch.tensor([[[[0.5, 0.0]], [[1.0, 3.0]]]])
    target = torch.tensor([[[[0.0, 1.0]], [[1.0, 1.0]]]])
    return pred, target


def test_l1_and_l2():
    pred, target = _pair()
    assert PixelReconstructionLoss()(pred, target).item() == pytest.approx((0.5 + 1 + 0 + 2) / 4)
    l2 = PixelReconstructionLoss(criterion='l2', loss_weight=2.0)
    assert l2(pred, target).item() == pytest.approx(2 * (0.25 + 1 + 0 + 4) / 4)


def test_mask():
    pred, target = _pair()
    loss = PixelReconstructionLoss()
    assert loss(pred, target, torch.ones(1, 1, 1,
                                         2)).item() == pytest.approx(loss(pred, target).item())
    # only the left pixel counts: (0.5 + 0) / (2 channels * 1 pixel)
    mask = torch.tensor([[[[1.0, 0.0]]]])
    assert loss(pred, target, mask).item() == pytest.approx(0.25)
    # weights 0.5 left, 1 right: (0.5*0.5 + 1*1 + 0*0.5 + 2*1) / (2 channels * 1.5) = 3.25 / 3
    mask = torch.tensor([[[[0.5, 1.0]]]])
    assert loss(pred, target, mask).item() == pytest.approx(3.25 / 3)


def test_registry_and_errors():
    loss = MODELS.build(dict(type='PixelReconstructionLoss', criterion='l2'))
    assert loss.criterion == 'l2'
    with pytest.raises(ValueError, match='criterion'):
        PixelReconstructionLoss(criterion='huber')
    with pytest.raises(ValueError, match='pred and target'):
        loss(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 5))
    with pytest.raises(ValueError, match='mask'):
        loss(torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4), torch.ones(1, 3, 4, 4))
