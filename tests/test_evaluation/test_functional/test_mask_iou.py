import pytest
import torch

from partseg.evaluation.functional import centred_ellipse_mask, mask_iou


def test_mask_iou_3x3_by_hand_and_empty_union():
    pred = torch.tensor([[0, 1, 1], [0, 1, 0], [0, 0, 0]], dtype=torch.bool)
    gt = torch.tensor([[0, 1, 1], [1, 1, 0], [0, 0, 0]], dtype=torch.bool)
    assert mask_iou(pred, gt).item() == pytest.approx(3 / 4)  # |and| = 3, |or| = 4
    empty = torch.zeros(3, 3, dtype=torch.bool)
    assert mask_iou(empty, empty).item() == 1.0  # both empty: perfect match
    batch = mask_iou(torch.stack([pred, empty]), torch.stack([gt, gt]))
    assert batch.tolist() == pytest.approx([0.75, 0.0])
    with pytest.raises(ValueError, match='differ in shape'):
        mask_iou(pred, gt[:2])


def test_centred_ellipse_3x3_is_a_plus():
    # centre (1.5, 1.5), semi-axes 1.05 px: edge-middle centres at distance 1 are inside
    # ((1/1.05)^2 = 0.91), corner centres are not (2 * 0.91 = 1.81)
    expected = torch.tensor([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=torch.bool)
    assert torch.equal(centred_ellipse_mask(3, 3, (0.35, 0.35)), expected)
    # 2 x 4 with semi-axes (0.3 W, 0.5 H) = (1.2, 1) px around (2, 1): centres x = .5,1.5,2.5,3.5
    # at y = .5, 1.5 -> ((x - 2) / 1.2)^2 + 0.25 <= 1 holds for x = 1.5, 2.5 only
    expected = torch.tensor([[0, 1, 1, 0], [0, 1, 1, 0]], dtype=torch.bool)
    assert torch.equal(centred_ellipse_mask(2, 4, (0.3, 0.5)), expected)


def test_official_smoothing_hand_values():
    """Official test_seg.py cal_iou: I / (U + 1e-6) per image, an empty union scores 0."""
    pred = torch.zeros(3, 4, 4, dtype=torch.bool)
    gt = torch.zeros(3, 4, 4, dtype=torch.bool)
    pred[0, :2] = True  # 8 px
    gt[0, 1:3] = True  # 8 px, 4 shared -> I 4, U 12
    pred[1, 0, 0] = True  # no overlap: I 0, U 2
    gt[1, 3, 3] = True
    # image 2: both empty
    iou = mask_iou(pred, gt, smooth=1e-6)
    expected = torch.tensor([4 / (12 + 1e-6), 0.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(iou, expected, rtol=0, atol=1e-15)
    assert mask_iou(pred, gt)[2] == 1.0  # default: an empty union is a perfect match
