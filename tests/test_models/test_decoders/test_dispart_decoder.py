"""DisPart decoder D, Liu et al. 2021 Eq. (4) and Sec. 4.1: seven conv blocks + a final 3x3 conv."""
import pytest
import torch
import torch.nn as nn

from partseg.models.decoders import DisPartDecoder
from partseg.registry import MODELS

TINY = dict(in_channels=6, channels=(8, 8, 8, 8, 8, 8, 8))


def test_paper_structure():
    decoder = DisPartDecoder(**TINY)
    assert len(decoder.blocks) == 7
    for index, block in enumerate(decoder.blocks):
        conv, norm, act = block
        assert isinstance(norm, nn.BatchNorm2d) and isinstance(act, nn.ReLU)
        if index in (1, 3):  # the second and fourth blocks upsample
            assert type(conv) is nn.ConvTranspose2d
            assert conv.kernel_size == (4, 4) and conv.stride == (2, 2) and conv.padding == (1, 1)
        else:
            assert type(conv) is nn.Conv2d
            assert conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (1, 1)
    final = decoder.final_conv
    assert type(final) is nn.Conv2d and final.kernel_size == (3, 3) and final.out_channels == 3
    assert decoder.upsample_factor == 4


def test_default_widths_and_input_channels():
    with torch.device('meta'):
        decoder = DisPartDecoder()
    assert decoder.in_channels == 258  # L + 2 with L = 256
    assert [block[0].out_channels for block in decoder.blocks] == [256, 256, 128, 128, 64, 64, 32]
    assert decoder.blocks[0][0].in_channels == 258


def test_output_size_x4():
    out = DisPartDecoder(**TINY)(torch.randn(2, 6, 8, 8))
    assert out.shape == (2, 3, 32, 32)  # 32x32 maps -> 128 px, here 8x8 -> 32 px
    assert torch.isfinite(out).all()


def test_sixteen_by_sixteen_maps_option_upsamples_x8():
    decoder = DisPartDecoder(**TINY, upsample_blocks=(1, 3, 5))
    assert decoder.upsample_factor == 8
    assert isinstance(decoder.blocks[5][0], nn.ConvTranspose2d)
    assert decoder(torch.randn(2, 6, 4, 4)).shape == (2, 3, 32, 32)


def test_gaussian_init_sigma():
    decoder = DisPartDecoder(in_channels=66, channels=(64, 64, 32, 32, 16, 16, 16), init_std=0.01)
    weights = torch.cat([
        m.weight.flatten() for m in decoder.modules()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ])
    assert weights.std().item() == pytest.approx(0.01, rel=0.03)
    assert all(
        torch.equal(m.bias, torch.zeros_like(m.bias)) for m in decoder.modules()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
    assert all(
        torch.equal(m.weight, torch.ones_like(m.weight)) for m in decoder.modules()
        if isinstance(m, nn.BatchNorm2d))


@pytest.mark.parametrize('kernel_size, reach', [(1, 1), (3, 4)])
def test_kernel_size_sets_the_receptive_field(kernel_size, reach):
    # 7 blocks (conv, up, conv, up, conv, conv, conv) + final conv, 4x4 -> 16x16. With 1x1 convs
    # only the two 4x4 transposed convs (stride 2) mix neighbours: a map cell reaches the pixels
    # of its own and the next cell; with 3x3 convs it reaches every pixel of the 16x16 output.
    decoder = DisPartDecoder(**TINY, kernel_size=kernel_size).eval()
    x = torch.randn(1, 6, 4, 4)
    changed = x.clone()
    changed[..., 0, 0] += 1.0  # one map cell in the top-left corner
    diff = (decoder(changed) - decoder(x)).abs()[0].amax(0)  # (16, 16)
    touched = diff.nonzero()
    assert diff[0, 0] > 0
    # output pixel (i, j) lies in map cell (i // 4, j // 4)
    assert (touched // 4).amax().item() == min(reach, 3)


def test_registered():
    decoder = MODELS.build(dict(type='DisPartDecoder', out_channels=1, **TINY))
    assert decoder(torch.randn(1, 6, 4, 4)).shape == (1, 1, 16, 16)


def test_wrong_input_channels_names_in_channels():
    with pytest.raises(ValueError, match='in_channels') as info:
        DisPartDecoder(**TINY)(torch.randn(1, 5, 4, 4))
    assert '\n' not in str(info.value)


@pytest.mark.parametrize('kwargs, key', [
    (dict(in_channels=0), 'in_channels'),
    (dict(out_channels=-1), 'out_channels'),
    (dict(channels=()), 'channels'),
    (dict(channels=(8, 0)), 'channels'),
    (dict(upsample_blocks=(1, 1)), 'upsample_blocks'),
    (dict(upsample_blocks=(7, )), 'upsample_blocks'),
    (dict(kernel_size=2), 'kernel_size'),
    (dict(kernel_size=0), 'kernel_size'),
])
def test_bad_arguments(kwargs, key):
    with pytest.raises(ValueError, match=key):
        DisPartDecoder(**{**TINY, **kwargs})
