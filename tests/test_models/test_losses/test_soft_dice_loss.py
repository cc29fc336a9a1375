"""SoftDiceLoss (GANSeg official segmenter loss) by hand on a 1x2 image."""
import math

import pytest
import torch

from partseg.models.losses import SoftDiceLoss

# logits: pixel 0 -> probs (1/2, 1/2); pixel 1 -> probs (1/4, 3/4)
LOGITS = torch.tensor([[[[0.0, 0.0]], [[0.0, math.log(3.0)]]]])  # (1, 2, 1, 2)


def test_soft_dice_by_hand():
    target = torch.tensor([[[0, 1]]])
    # class 0: P = (1/2, 1/4), T = (1, 0): dice = 2 * 1/2 / (3/4 + 1) = 4/7
    # class 1: P = (1/2, 3/4), T = (0, 1): dice = 2 * 3/4 / (5/4 + 1) = 2/3
    expected = 1 - (4 / 7 + 2 / 3) / 2
    assert SoftDiceLoss(eps=0.0)(LOGITS, target).item() == pytest.approx(expected)
    assert SoftDiceLoss(loss_weight=0.5)(LOGITS, target).item() == pytest.approx(expected / 2)


def test_ignore_index_and_loss_name():
    target = torch.tensor([[[0, 255]]])
    # only pixel 0 counts: class 0 dice = 2 * 1/2 / (1/2 + 1) = 2/3; class 1: 0 / (1/2) = 0
    loss = SoftDiceLoss(eps=0.0)
    assert loss(LOGITS, target, ignore_index=255).item() == pytest.approx(1 - (2 / 3) / 2)
    assert loss.loss_name == 'loss_dice'


def test_inside_mmseg_decode_head():
    from mmengine.structures import PixelData
    from mmseg.models.decode_heads import FCNHead
    from mmseg.structures import SegDataSample
    head = FCNHead(
        in_channels=4,
        channels=4,
        num_convs=1,
        num_classes=3,
        loss_decode=[
            dict(type='CrossEntropyLoss', loss_weight=0.5),
            dict(type='partseg.SoftDiceLoss', loss_weight=0.5)
        ])
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 8, 8)))
    losses = head.loss_by_feat(torch.randn(1, 3, 8, 8), [sample])
    assert set(losses) >= {'loss_ce', 'loss_dice'}
    assert 0 < losses['loss_dice'].item() < 0.5
