"""GANSegDiscriminator: residual blocks by hand, no normalisation, the official parameter count."""
import math

import pytest
import torch
from torch import nn

from partseg.models.discriminators import GANSegDiscriminator
from partseg.models.discriminators.residual_discriminator import ResidualDownBlock
from partseg.registry import MODELS


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_residual_block_by_hand():
    # (main(x) + conv1x1_s2(x)) / sqrt(2): main = 0 except the last bias b, residual copies x
    block = ResidualDownBlock(1, 1)
    with torch.no_grad():
        for conv in block.main:
            if isinstance(conv, nn.Conv2d):
                conv.weight.zero_()
                conv.bias.zero_()
        block.main[-1].bias.fill_(0.5)
        block.residual.weight.fill_(1.0)
        block.residual.bias.zero_()
    x = torch.arange(16.0).view(1, 1, 4, 4)
    out = block(x)
    assert out.shape == (1, 1, 2, 2)
    expected = (torch.tensor([[0.0, 2.0], [8.0, 10.0]]) + 0.5) / math.sqrt(2)
    assert torch.allclose(out[0, 0], expected)


def test_forward_and_no_normalisation():
    disc = MODELS.build(
        dict(type='GANSegDiscriminator', channels=(4, 8), image_size=8, fc_channels=6))
    assert disc(torch.randn(3, 3, 8, 8)).shape == (3, 1)
    norms = (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm, nn.LayerNorm)
    assert not any(isinstance(m, norms) for m in disc.modules())
    # 2 x 2 x 8 features -> 6 -> 1
    assert disc.head[0].in_features == 32 and disc.head[-1].out_features == 1


def test_official_init_and_count():
    disc = GANSegDiscriminator(channels=(4, 8), image_size=8, fc_channels=6)
    disc.init_weights()  # Kaiming-normal (a = 0.2), zero biases, like the official code
    assert all(m.bias.abs().max() == 0 for m in disc.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear)))
    # 6 blocks 3 -> 64 -> ... -> 512 at 128 px, FC 2048 -> 512 -> 1: 23,726,721 on the official code
    with torch.device('meta'):
        official = GANSegDiscriminator()
    assert sum(p.numel() for p in official.parameters()) == 23_726_721


def test_bad_inputs():
    with pytest.raises(ValueError, match='divisible'):
        GANSegDiscriminator(channels=(4, 8, 8), image_size=12)
    disc = GANSegDiscriminator(channels=(4, ), image_size=4, fc_channels=2)
    with pytest.raises(ValueError, match='4x4'):
        disc(torch.zeros(1, 3, 8, 8))
