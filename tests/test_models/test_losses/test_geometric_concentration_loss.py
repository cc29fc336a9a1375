"""GeometricConcentrationLoss, He et al. 2022 Eq. (16) / (26), on a 3x3 grid by hand."""
import pytest
import torch

from partseg.models.losses import GeometricConcentrationLoss

# 3x3 grid with coordinates x, y in {-1, 0, 1}: grid[i, j] = (x_j, y_i)
_ys, _xs = torch.meshgrid(
    torch.tensor([-1.0, 0.0, 1.0]), torch.tensor([-1.0, 0.0, 1.0]), indexing='ij')
GRID = torch.stack([_xs, _ys], -1)  # (3, 3, 2)


def masks_and_centres():
    # part 1: mass 1 at (0, 0) and 1 at (1, 0) -> weights 1/2 each; distances^2 0 and 1 -> 1/2
    # part 2: uniform -> mean of x^2 + y^2 over the grid = (6 + 6) / 9 = 4/3
    masks = torch.zeros(1, 2, 3, 3)
    masks[0, 0, 1, 1] = 1.0
    masks[0, 0, 1, 2] = 1.0
    masks[0, 1] = 1.0
    centres = torch.zeros(1, 2, 2)
    return masks, centres


def test_sum_over_parts_paper():
    masks, centres = masks_and_centres()
    loss = GeometricConcentrationLoss(loss_weight=2.0, eps=0.0)
    assert loss(masks, centres, GRID).item() == pytest.approx(2.0 * (1 / 2 + 4 / 3))


def test_mean_over_parts_official_and_eq26_weight():
    masks, centres = masks_and_centres()
    official = GeometricConcentrationLoss(loss_weight=1.0, part_reduction='mean', eps=0.0)
    assert official(masks, centres, GRID).item() == pytest.approx((1 / 2 + 4 / 3) / 2)
    # Eq. (26): lambda_con = C_con * K = 1.5 * 2 = 3
    eq26 = GeometricConcentrationLoss(loss_weight_per_part=1.5, eps=0.0)
    assert eq26.weight(2) == 3.0
    assert eq26(masks, centres, GRID).item() == pytest.approx(3.0 * (1 / 2 + 4 / 3))


def test_scale_invariant_in_mask_mass_and_batch_mean():
    masks, centres = masks_and_centres()
    loss = GeometricConcentrationLoss(eps=0.0)
    # a second image: part 1 at the corner (1, 1) with centre (0, 0) -> 2; part 2 as before
    second = masks.clone() * 5.0
    second[0, 0] = 0.0
    second[0, 0, 2, 2] = 7.0
    value = loss(torch.cat([masks, second]), torch.zeros(2, 2, 2), GRID).item()
    assert value == pytest.approx(((1 / 2 + 4 / 3) + (2 + 4 / 3)) / 2)


def test_bad_config_and_grid():
    with pytest.raises(ValueError, match='loss_weight_per_part'):
        GeometricConcentrationLoss(loss_weight=1.0, loss_weight_per_part=1.0)
    with pytest.raises(ValueError, match='part_reduction'):
        GeometricConcentrationLoss(part_reduction='max')
    masks, centres = masks_and_centres()
    with pytest.raises(ValueError, match='grid'):
        GeometricConcentrationLoss()(masks, centres, GRID[:2])
