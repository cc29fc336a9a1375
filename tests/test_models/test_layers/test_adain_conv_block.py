"""AdaIN and the AdaIN ConvBlock, He et al. 2022 Eq. (10), appendix B.3, with values by hand."""
import math

import pytest
import torch

from partseg.models.layers import AdaIN, AdaINConvBlock
from partseg.registry import MODELS

BN_SCALE = 1 / math.sqrt(1 + 1e-5)


def test_adain_without_modulation_is_batchnorm():
    adain = AdaIN(1, style_channels=3, hidden_channels=2)
    with torch.no_grad():
        for fc in (adain.fc_gamma, adain.fc_beta):
            fc.weight.zero_()
            fc.bias.zero_()
    out = adain(torch.tensor([1.0, 3.0]).view(1, 1, 1, 2), torch.randn(1, 3))
    assert out.flatten().tolist() == pytest.approx([-BN_SCALE, BN_SCALE], abs=1e-6)
    assert adain.norm.weight is None  # BatchNorm (not InstanceNorm), no affine (appendix B.3)


def test_adain_per_sample_per_channel_by_hand():
    # hidden = leaky(style), gamma = hidden, beta = (0, 1) per channel:
    # sample 1 style 1 -> gamma 1; sample 2 style -1 -> gamma -0.2
    adain = AdaIN(2, style_channels=1, hidden_channels=1)
    with torch.no_grad():
        adain.fc_shared.weight.fill_(1.0)
        adain.fc_shared.bias.zero_()
        adain.fc_gamma.weight.fill_(1.0)
        adain.fc_gamma.bias.zero_()
        adain.fc_beta.weight.zero_()
        adain.fc_beta.bias.copy_(torch.tensor([0.0, 1.0]))
    x = torch.tensor([1.0, 3.0]).repeat(2, 2, 1).view(2, 2, 1, 2)  # every channel: BN -> (-1, 1)
    out = adain(x, torch.tensor([[1.0], [-1.0]]))
    s = BN_SCALE
    assert out[0, 0].flatten().tolist() == pytest.approx([-2 * s, 2 * s])
    assert out[0, 1].flatten().tolist() == pytest.approx([-2 * s + 1, 2 * s + 1])
    assert out[1, 0].flatten().tolist() == pytest.approx([-0.8 * s, 0.8 * s])
    assert out[1, 1].flatten().tolist() == pytest.approx([-0.8 * s + 1, 0.8 * s + 1])


def test_conv_block_by_hand():
    # conv3x3(leaky(AdaIN(x))) with AdaIN = BN and a centre-tap identity conv: leaky(BN(x))
    block = MODELS.build(
        dict(
            type='AdaINConvBlock',
            in_channels=1,
            out_channels=1,
            style_channels=2,
            hidden_channels=2))
    with torch.no_grad():
        for fc in (block.adain.fc_gamma, block.adain.fc_beta):
            fc.weight.zero_()
            fc.bias.zero_()
        block.conv.weight.zero_()
        block.conv.weight[0, 0, 1, 1] = 1.0
        block.conv.bias.zero_()
    out = block(torch.tensor([1.0, 3.0]).view(1, 1, 1, 2), torch.randn(1, 2))
    assert out.flatten().tolist() == pytest.approx([-0.2 * BN_SCALE, BN_SCALE], abs=1e-6)


def test_conv_block_parameter_count_by_hand():
    # fc_shared 4*5+5 = 25, fc_gamma and fc_beta 5*2+2 = 12 each, conv 2->3: 2*3*9+3 = 57
    block = AdaINConvBlock(2, 3, style_channels=4, hidden_channels=5)
    assert sum(p.numel() for p in block.parameters()) == 25 + 12 + 12 + 57
    assert block(torch.randn(2, 2, 5, 5), torch.randn(2, 4)).shape == (2, 3, 5, 5)


def test_style_is_spatially_constant():
    # AdaIN broadcasts gamma/beta over space: with BN in eval mode a constant input stays constant
    torch.manual_seed(0)
    adain = AdaIN(3, style_channels=4).eval()
    out = adain(torch.ones(2, 3, 4, 4), torch.randn(2, 4))
    assert torch.allclose(out, out[:, :, :1, :1].expand_as(out))
