"""PointGenerator, He et al. 2022 Eq. (1)-(3), with values by hand."""
import math

import pytest
import torch

from partseg.models.generators import PointGenerator
from partseg.registry import MODELS


def test_part_scales_eq1_by_hand():
    # four points (+-0.5, 0), (0, +-0.5) around (0.25, -0.25)
    offsets = torch.tensor([[0.5, 0.0], [-0.5, 0.0], [0.0, 0.5], [0.0, -0.5]])
    points = (offsets + torch.tensor([0.25, -0.25]))[None, None]  # (1, 1, 4, 2)
    locations = points.mean(2)
    assert locations[0, 0].tolist() == pytest.approx([0.25, -0.25])
    # Eq. (1): sqrt(sum_i |x_i - x|^2 / (n_per - 1)) = sqrt(4 * 0.25 / 3)
    std = PointGenerator(1, n_per=4, z_dim=2, emb_dim=2, scale_type='std')
    assert std.part_scales(points, locations).item() == pytest.approx(math.sqrt(1 / 3))
    # official: mean |offset| over the 4 points and 2 coordinates = (4 * 0.5) / 8
    official = PointGenerator(1, n_per=4, z_dim=2, emb_dim=2, scale_type='mean_abs')
    assert official.part_scales(points, locations).item() == pytest.approx(0.25)


def test_forward_by_hand():
    # one-layer MLPs with zero weights: the biases set the raw outputs
    gen = MODELS.build(
        dict(
            type='PointGenerator',
            num_parts=2,
            n_per=2,
            z_dim=3,
            emb_dim=2,
            point_mlp_layers=1,
            app_mlp_layers=1,
            point_divisor=20.0))
    points = torch.tensor([[0.1, 0.2], [0.3, 0.4], [-0.5, 0.0], [-0.5, 0.6]])  # part 1, part 2
    with torch.no_grad():
        gen.point_mlp[0].weight.zero_()
        gen.point_mlp[0].bias.copy_(20 * torch.atanh(points.flatten()))  # tanh(raw / 20)
        gen.app_mlp[0].weight.zero_()
        gen.app_mlp[0].bias.copy_(torch.tensor([2.0, 3.0]))  # w_dynamic
        gen.part_constants.copy_(torch.tensor([[1.0, 1.0], [-1.0, 0.5]]))  # w_k^const
    out = gen(torch.randn(1, 3), torch.randn(1, 3))
    assert out['points'].shape == (1, 2, 2, 2)
    assert torch.allclose(out['points'][0].flatten(0, 1), points, atol=1e-6)
    assert out['part_locations'][0].tolist() == [
        pytest.approx([0.2, 0.3]), pytest.approx([-0.5, 0.3])
    ]
    # sigma = sqrt(sum |offset|^2 / (n_per - 1)): part 1 offsets (+-0.1, +-0.1) -> 0.2;
    # part 2 offsets (0, +-0.3) -> sqrt(0.18)
    assert out['part_scales'][0].tolist() == pytest.approx([0.2, math.sqrt(0.18)], abs=1e-5)
    # Eq. (3): w_k = w_dynamic * w_k^const
    assert out['part_embeddings'][0].tolist() == [
        pytest.approx([2.0, 3.0]), pytest.approx([-2.0, 1.5])
    ]


def test_noise_sources_are_independent():
    torch.manual_seed(0)
    gen = PointGenerator(3, n_per=4, z_dim=8, emb_dim=4)
    z_point, z_app = torch.randn(2, 8), torch.randn(2, 8)
    base = gen(z_point, z_app)
    new_app = gen(z_point, torch.randn(2, 8))
    new_point = gen(torch.randn(2, 8), z_app)
    assert torch.equal(new_app['points'], base['points'])
    assert not torch.allclose(new_app['part_embeddings'], base['part_embeddings'])
    assert torch.equal(new_point['part_embeddings'], base['part_embeddings'])
    assert not torch.allclose(new_point['points'], base['points'])
    assert base['points'].abs().max() < 1  # tanh-bounded


def test_mlp_depths():
    gen = PointGenerator(8, z_dim=16, emb_dim=4, point_mlp_layers=5, app_mlp_layers=4)
    linear = torch.nn.Linear
    assert sum(isinstance(m, linear) for m in gen.point_mlp) == 5
    assert sum(isinstance(m, linear) for m in gen.app_mlp) == 4
    assert gen.point_mlp[-1].out_features == 8 * 4 * 2


def test_bad_arguments():
    with pytest.raises(ValueError, match='n_per'):
        PointGenerator(2, n_per=1)
    with pytest.raises(ValueError, match='scale_type'):
        PointGenerator(2, scale_type='var')
    with pytest.raises(ValueError, match='num_parts'):
        PointGenerator(0)
    with pytest.raises(ValueError, match='point_divisor'):
        PointGenerator(2, point_divisor=0)
