"""Appearance transfer bottleneck, Liu et al. 2021 Eq. (2) (squeeze) and Eq. (3) (expand)."""
import pytest
import torch

from partseg.models.bottlenecks import AppearanceTransferBottleneck
from partseg.registry import MODELS

# K' = 2 part maps on a 1 x 3 image; L = 2 appearance channels.
S1 = torch.tensor([[[[1.0, 0.5, 0.0]], [[0.0, 0.5, 1.0]]]])  # (1, 2, 1, 3)
A1 = torch.tensor([[[[1.0, 2.0, 3.0]], [[4.0, 5.0, 6.0]]]])  # (1, 2, 1, 3)
# Eq. (2): D = diag(1.5, 1.5);
# F_0 = (1 * (1, 4) + .5 * (2, 5)) / 1.5, F_1 = (.5 * (2, 5) + (3, 6)) / 1.5
F1 = torch.tensor([[[4 / 3, 13 / 3], [8 / 3, 17 / 3]]])  # (1, K', L)
S2 = torch.tensor([[[[1.0, 0.0, 0.25]], [[0.0, 1.0, 0.75]]]])  # (1, 2, 1, 3)
# Eq. (3): A_bar = F^T S_bar: pixel 2 = .25 F_0 + .75 F_1 = (7/3, 16/3)
A12 = torch.tensor([[[[4 / 3, 8 / 3, 7 / 3]], [[13 / 3, 17 / 3, 16 / 3]]]])  # (1, L, 1, 3)


def test_squeeze_eq2_hand_computed():
    features = AppearanceTransferBottleneck().squeeze(S1, A1)
    assert features.shape == (1, 2, 2)
    torch.testing.assert_close(features, F1)


def test_squeeze_row_normalisation_with_unequal_masses():
    # part 0 has mass 2 (D_00 = 2), part 1 mass 0.5: the weighted mean, not the weighted sum
    maps = torch.tensor([[[[1.0, 1.0]], [[0.5, 0.0]]]])  # (1, 2, 1, 2)
    appearance = torch.tensor([[[[2.0, 4.0]]]])  # (1, 1, 1, 2)
    features = AppearanceTransferBottleneck().squeeze(maps, appearance)
    torch.testing.assert_close(features, torch.tensor([[[3.0], [2.0]]]))


def test_expand_eq3_hand_computed():
    rendered = AppearanceTransferBottleneck().expand(F1, S2)
    assert rendered.shape == (1, 2, 1, 3)
    torch.testing.assert_close(rendered, A12)


def test_forward_chains_squeeze_and_expand():
    torch.testing.assert_close(AppearanceTransferBottleneck()(S1, A1, S2), A12)


def test_batched_broadcast_matches_per_sample():
    torch.manual_seed(0)
    maps = torch.rand(3, 4, 5, 6).softmax(1)
    appearance = torch.randn(3, 7, 5, 6)
    other = torch.rand(3, 4, 5, 6).softmax(1)
    bottleneck = AppearanceTransferBottleneck()
    out = bottleneck(maps, appearance, other)
    assert out.shape == (3, 7, 5, 6)
    for i in range(3):
        torch.testing.assert_close(out[i:i + 1],
                                   bottleneck(maps[i:i + 1], appearance[i:i + 1], other[i:i + 1]))


def test_constant_appearance_is_reproduced():
    # rows of a softmax sum to one over parts, so a constant appearance survives the transfer
    maps, other = torch.rand(2, 3, 4, 4).softmax(1), torch.rand(2, 3, 4, 4).softmax(1)
    appearance = torch.full((2, 5, 4, 4), 0.7)
    out = AppearanceTransferBottleneck()(maps, appearance, other)
    torch.testing.assert_close(out, torch.full_like(out, 0.7))


def test_empty_part_gives_zero_feature_not_nan():
    maps = torch.zeros(1, 2, 2, 2)
    maps[:, 0] = 1.0  # part 1 has no mass
    features = AppearanceTransferBottleneck().squeeze(maps, torch.randn(1, 3, 2, 2))
    assert torch.isfinite(features).all()
    assert torch.equal(features[0, 1], torch.zeros(3))


def test_gradients_reach_maps_and_appearance():
    maps = torch.rand(1, 3, 4, 4, requires_grad=True)
    appearance = torch.randn(1, 2, 4, 4, requires_grad=True)
    AppearanceTransferBottleneck()(maps.softmax(1), appearance, maps.softmax(1)).sum().backward()
    assert maps.grad.abs().sum() > 0 and appearance.grad.abs().sum() > 0


def test_hard_expand_paints_the_argmax_part_with_the_soft_gradient():
    # S2's pixel 2 (.25, .75) takes F_1 = (8/3, 17/3) whole; pixels 0 and 1 are one-hot already
    hard = AppearanceTransferBottleneck(assignment='hard')
    maps = S2.clone().requires_grad_(True)
    rendered = hard.expand(F1, maps)
    expected = torch.tensor([[[[4 / 3, 8 / 3, 8 / 3]], [[13 / 3, 17 / 3, 17 / 3]]]])
    torch.testing.assert_close(rendered, expected)
    # straight-through: d(sum rendered)/d S_k,uv = sum_l F_k,l, as for the soft Eq. (3)
    rendered.sum().backward()
    per_part = F1.sum(-1)  # (1, K'): F_0 -> 17/3, F_1 -> 25/3
    torch.testing.assert_close(maps.grad, per_part[..., None, None].expand(1, 2, 1, 3))
    # squeeze stays soft (Eq. 2)
    torch.testing.assert_close(hard.squeeze(S1, A1), F1)


def test_registered():
    assert isinstance(
        MODELS.build(dict(type='AppearanceTransferBottleneck', eps=1e-4)),
        AppearanceTransferBottleneck)


def test_bad_inputs():
    bottleneck = AppearanceTransferBottleneck()
    with pytest.raises(ValueError, match='eps'):
        AppearanceTransferBottleneck(eps=0)
    with pytest.raises(ValueError, match='assignment'):
        AppearanceTransferBottleneck(assignment='gumbel')
    with pytest.raises(ValueError, match='spatial size'):
        bottleneck.squeeze(torch.rand(1, 2, 4, 4), torch.rand(1, 3, 4, 5))
    with pytest.raises(ValueError, match='must be'):
        bottleneck.squeeze(torch.rand(2, 4, 4), torch.rand(1, 3, 4, 4))
    with pytest.raises(ValueError, match='number of parts'):
        bottleneck.expand(torch.rand(1, 3, 5), torch.rand(1, 2, 4, 4))
    with pytest.raises(ValueError, match='part_features'):
        bottleneck.expand(torch.rand(3, 5), torch.rand(1, 2, 4, 4))
