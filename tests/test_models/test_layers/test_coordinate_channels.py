"""Coordinate channels of the DisPart decoder input, Liu et al. 2021 appendix A.3."""
import pytest
import torch

from partseg.models.layers import CoordinateChannels
from partseg.registry import MODELS


def test_pixel_centre_values():
    x = torch.randn(2, 3, 2, 4)
    out = CoordinateChannels()(x)
    assert out.shape == (2, 5, 2, 4)
    assert torch.equal(out[:, :3], x)
    xs = torch.tensor([0.125, 0.375, 0.625, 0.875])  # (j + 0.5) / W
    ys = torch.tensor([0.25, 0.75])  # (i + 0.5) / H
    for b in range(2):
        torch.testing.assert_close(out[b, 3], xs.expand(2, 4))
        torch.testing.assert_close(out[b, 4], ys[:, None].expand(2, 4))


def test_align_corners_values():
    out = CoordinateChannels(align_corners=True)(torch.zeros(1, 1, 2, 4))
    torch.testing.assert_close(out[0, 1], torch.tensor([0, 1 / 3, 2 / 3, 1]).expand(2, 4))
    torch.testing.assert_close(out[0, 2], torch.tensor([[0.0] * 4, [1.0] * 4]))


def test_dtype_device_and_gradient():
    x = torch.randn(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    out = CoordinateChannels()(x)
    assert out.dtype == torch.float64
    out.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_registered_and_num_channels():
    layer = MODELS.build(dict(type='CoordinateChannels'))
    assert layer.num_channels == 2


def test_bad_inputs():
    with pytest.raises(ValueError, match='B, C, H, W'):
        CoordinateChannels()(torch.zeros(3, 4, 4))
    with pytest.raises(TypeError, match='align_corners'):
        CoordinateChannels(align_corners=1)
