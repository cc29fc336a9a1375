"""ProjectedASPPHead: torchvision's DeepLabHead (the official GANSeg segmenter head) in mmseg."""
import pytest
import torch
from torchvision.models.segmentation.deeplabv3 import DeepLabHead

from partseg.models.decode_heads import ProjectedASPPHead
from partseg.registry import MODELS

NORM = dict(type='BN', requires_grad=True)


def _head(in_channels=16, channels=8, num_classes=3, **kwargs):
    kwargs.setdefault('dropout_ratio', 0.0)
    return ProjectedASPPHead(
        in_channels=in_channels,
        channels=channels,
        num_classes=num_classes,
        dilations=(1, 2, 3, 4),
        norm_cfg=NORM,
        **kwargs)


def test_parameter_count_equals_torchvision_deeplab_head():
    ours = ProjectedASPPHead(
        in_channels=2048,
        channels=256,
        num_classes=9,
        dilations=(1, 12, 24, 36),
        dropout_ratio=0.0,
        norm_cfg=NORM)
    reference = DeepLabHead(2048, 9)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(ours) == count(reference)


def test_outputs_equal_torchvision_with_the_same_weights():
    torch.manual_seed(0)
    # torchvision fixes 256 channels
    ours, reference = _head(channels=256).eval(), DeepLabHead(16, 3, atrous_rates=(2, 3, 4)).eval()
    aspp = reference[0]
    # torchvision branch order: 1x1, rates..., pooling; mmseg concatenates pooling first
    branches = [aspp.convs[0]] + list(aspp.convs[1:4])
    with torch.no_grad():
        for mine, theirs in zip(ours.aspp_modules, branches):
            mine.conv.weight.copy_(theirs[0].weight)
            mine.bn.load_state_dict(theirs[1].state_dict())
        pool = aspp.convs[4]
        ours.image_pool[1].conv.weight.copy_(pool[1].weight)
        ours.image_pool[1].bn.load_state_dict(pool[2].state_dict())
        weight = aspp.project[0].weight  # (C, 5C, 1, 1) in torchvision's branch order
        c = ours.channels
        order = torch.cat([weight[:, 4 * c:], weight[:, :4 * c]], 1)  # pooling block first
        ours.bottleneck[0].conv.weight.copy_(order)
        ours.bottleneck[0].bn.load_state_dict(aspp.project[1].state_dict())
        ours.bottleneck[2].conv.weight.copy_(reference[1].weight)
        ours.bottleneck[2].bn.load_state_dict(reference[2].state_dict())
        ours.conv_seg.weight.copy_(reference[4].weight)
        ours.conv_seg.bias.copy_(reference[4].bias)
    x = torch.randn(2, 16, 6, 6)
    torch.testing.assert_close(ours([x]), reference(x))


def test_trains_and_is_registered():
    head = MODELS.build(
        dict(
            type='ProjectedASPPHead',
            in_channels=16,
            channels=8,
            num_classes=3,
            dilations=(1, 2),
            norm_cfg=NORM))
    out = head([torch.randn(2, 16, 5, 5)])
    assert out.shape == (2, 3, 5, 5)
    out.sum().backward()
    assert head.bottleneck[0].conv.weight.grad is not None


def test_bad_dropout():
    with pytest.raises(ValueError, match='project_dropout'):
        _head(project_dropout=1.0)
