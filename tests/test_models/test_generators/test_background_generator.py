"""BackgroundGenerator, He et al. 2022 Eq. (9)-(10): position handling and equivariance."""
import pytest
import torch

from partseg.models.generators import BackgroundGenerator
from partseg.registry import MODELS


def build(mode='xy'):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='BackgroundGenerator',
            z_dim=8,
            emb_dim=4,
            channels=(8, 4),
            feature_map_sizes=(4, 8),
            adain_hidden=4,
            bg_position_mode=mode,
            margin=4)).eval()


def test_output_and_mlp():
    gen = build()
    out = gen(torch.randn(2, 8), torch.zeros(2, 2))
    assert out.shape == (2, 4, 8, 8)
    assert sum(isinstance(m, torch.nn.Linear) for m in gen.mlp) == 3  # paper: 3-layer MLP


def test_position_modes():
    z = torch.randn(1, 8)
    xy, horizontal = build('xy'), build('horizontal')
    pos = torch.tensor([[0.25, 0.5]])
    moved_y = torch.tensor([[0.25, -0.5]])
    assert horizontal.position(pos).tolist() == [[0.25, 0.0]]
    assert torch.equal(horizontal(z, pos), horizontal(z, moved_y))
    assert not torch.allclose(xy(z, pos), xy(z, moved_y), atol=1e-4)


def test_translation_equivariance():
    # one first-resolution pixel (2/4) right = two output pixels right; AdaIN's style is
    # spatially constant and BN (eval) pointwise, so the shift is exact inside the image
    gen = build()
    z, pos = torch.randn(2, 8), torch.rand(2, 2) - 0.5
    base = gen(z, pos)
    moved = gen(z, pos + torch.tensor([0.5, 0.0]))
    assert torch.allclose(moved[..., 2:], base[..., :-2], atol=1e-5)
    assert (moved - base).abs().max() > 1e-2


def test_style_changes_appearance():
    gen = build()
    pos = torch.zeros(1, 2)
    assert not torch.allclose(gen(torch.randn(1, 8), pos), gen(torch.randn(1, 8), pos))


def test_bad_config():
    with pytest.raises(ValueError, match='bg_position_mode'):
        BackgroundGenerator(8, 4, (8, ), (4, ), bg_position_mode='vertical')
    with pytest.raises(ValueError, match='one entry per block'):
        BackgroundGenerator(8, 4, (8, 4, 4), (4, 8))
