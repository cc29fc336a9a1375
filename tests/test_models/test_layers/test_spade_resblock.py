"""SPADE and the SPADE ResBlock, He et al. 2022 Eq. (6), (8), appendix B.2, with values by hand."""
import math

import pytest
import torch

from partseg.models.layers import SPADE, SPADEResBlock
from partseg.registry import MODELS

BN_SCALE = 1 / math.sqrt(1 + 1e-5)  # BatchNorm's eps


def zero_(*modules):
    with torch.no_grad():
        for module in modules:
            module.weight.zero_()
            module.bias.zero_()


def centre_tap_identity_(conv, channels):
    """3x3 conv that copies input channel c to output channel c for c < channels."""
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        for c in range(channels):
            conv.weight[c, c, 1, 1] = 1.0


def test_spade_without_modulation_is_batchnorm():
    spade = SPADE(1, style_channels=2, hidden_channels=3)
    zero_(spade.conv_gamma, spade.conv_beta)
    x = torch.tensor([1.0, 3.0]).view(1, 1, 1, 2)  # mean 2, variance 1
    out = spade(x, torch.randn(1, 2, 1, 2))
    assert out.flatten().tolist() == pytest.approx([-BN_SCALE, BN_SCALE], abs=1e-6)
    assert spade.norm.weight is None  # BN without affine parameters (appendix B.2)


def test_spade_denormalises_with_gamma_and_beta():
    # (1 + gamma) * BN(x) + beta with gamma = 1, beta = 0.5 everywhere
    spade = SPADE(1, style_channels=1, hidden_channels=2)
    zero_(spade.conv_gamma, spade.conv_beta)
    with torch.no_grad():
        spade.conv_gamma.bias.fill_(1.0)
        spade.conv_beta.bias.fill_(0.5)
    out = spade(torch.tensor([1.0, 3.0]).view(1, 1, 1, 2), torch.zeros(1, 1, 1, 2))
    assert out.flatten().tolist() == pytest.approx([-2 * BN_SCALE + 0.5, 2 * BN_SCALE + 0.5])


def test_spade_modulation_is_per_pixel():
    # gamma and beta come from two 3x3 convs of the style map: a style change at one pixel moves
    # the output only within 2 pixels of it (BN in eval mode is pointwise)
    torch.manual_seed(0)
    spade = SPADE(2, style_channels=3, hidden_channels=4).eval()
    x, style = torch.randn(1, 2, 9, 9), torch.randn(1, 3, 9, 9)
    changed = style.clone()
    changed[0, :, 4, 4] += 5.0
    diff = (spade(x, changed) - spade(x, style)).abs().sum((0, 1))  # (9, 9)
    assert diff[2:7, 2:7].min() > 0
    outside = diff.clone()
    outside[2:7, 2:7] = 0
    assert outside.max() == 0


def test_spade_shape_mismatch():
    with pytest.raises(ValueError, match='style map'):
        SPADE(1, 1)(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 2, 2))


def test_resblock_parameter_count_by_hand():
    # SPADE(C, S=1, hidden 4): shared 1*4*9+4 = 40, gamma and beta 4*C*9+C each -> C=2: 188
    # conv1 2->2: 38, conv2 2->3: 57, learned shortcut: SPADE(2) 188 + conv 2->3 57
    block = MODELS.build(
        dict(
            type='SPADEResBlock',
            in_channels=2,
            out_channels=3,
            style_channels=1,
            hidden_channels=4))
    assert sum(p.numel() for p in block.parameters()) == 188 + 38 + 188 + 57 + 188 + 57
    # official sizes: a 64 -> 64 block with D_emb 64 and hidden 128 has no learned shortcut
    assert sum(p.numel() for p in SPADEResBlock(64, 64, 64).parameters()) == 516736


def test_resblock_identity_shortcut():
    block = SPADEResBlock(2, 2, style_channels=1, hidden_channels=2)
    assert not block.learned_shortcut and not hasattr(block, 'conv_shortcut')
    zero_(block.conv2)  # residual branch outputs 0: out = x
    x = torch.randn(2, 2, 3, 3)
    assert torch.allclose(block(x, torch.randn(2, 1, 3, 3)), x)


def test_resblock_learned_shortcut_by_hand():
    # out = conv2(...) + conv_s(SPADE_s(x)); with conv2 = 0, SPADE_s = BN, conv_s copying channels
    # 0 and 1: out = (BN(x), 0)
    block = SPADEResBlock(2, 3, style_channels=1, hidden_channels=2)
    zero_(block.conv2, block.spade_shortcut.conv_gamma, block.spade_shortcut.conv_beta)
    centre_tap_identity_(block.conv_shortcut, 2)
    x = torch.tensor([[1.0, 3.0], [5.0, 3.0]]).view(1, 2, 1, 2)  # BN: (-1, 1) and (1, -1)
    out = block(x, torch.randn(1, 1, 1, 2))
    expected = [-BN_SCALE, BN_SCALE, BN_SCALE, -BN_SCALE, 0.0, 0.0]
    assert out.flatten().tolist() == pytest.approx(expected, abs=1e-6)
