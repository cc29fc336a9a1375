"""Truncated ResNet encoders of DisPart (Liu et al. 2021 Sec. 4.1): structure, strides, init."""
import pytest
import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock

from partseg.models.backbones import TruncatedResNet
from partseg.registry import MODELS


def _conv_weights(module: nn.Module) -> torch.Tensor:
    return torch.cat([m.weight.flatten() for m in module.modules() if isinstance(m, nn.Conv2d)])


@pytest.mark.parametrize('depth, blocks', [(18, (2, 2, 2)), (34, (3, 4, 6))])
def test_block_counts_and_no_layer4(depth, blocks):
    net = TruncatedResNet(depth=depth, base_channels=8)
    assert (len(net.layer1), len(net.layer2), len(net.layer3)) == blocks
    assert all(
        isinstance(b, BasicBlock) for layer in (net.layer1, net.layer2, net.layer3) for b in layer)
    assert not hasattr(net, 'layer4') and not hasattr(net, 'fc')


@pytest.mark.parametrize('depth, factory', [(18, torchvision.models.resnet18),
                                            (34, torchvision.models.resnet34)])
def test_same_parameters_as_torchvision_up_to_layer3(depth, factory):
    # Built on the meta device: only names and shapes are compared, nothing is allocated.
    with torch.device('meta'):
        reference = factory()
        ours = TruncatedResNet(depth=depth, base_channels=64)
    expected = {
        k: v.shape
        for k, v in reference.state_dict().items() if not k.startswith(('layer4', 'fc'))
    }
    assert {k: v.shape for k, v in ours.state_dict().items()} == expected


def test_layer3_stride_one_as_in_the_paper():
    net = TruncatedResNet(depth=34, strides=(1, 2, 1), base_channels=8)
    assert net.layer3[0].conv1.stride == (1, 1)
    assert net.layer3[0].downsample[0].stride == (1, 1)  # 1x1 projection 2C -> 4C, no stride
    assert net.layer2[0].conv1.stride == (2, 2)
    assert net.layer1[0].downsample is None


@pytest.mark.parametrize(
    'stem_pool, strides, stride',
    [
        (False, (1, 2, 1), 4),  # paper: 32x32 maps at 128 px (base config)
        (False, (1, 2, 2), 8),  # official shipped configs: 16x16 maps at 128 px
        (True, (1, 2, 1), 8),  # torchvision stem with layer3 stride 1
    ])
def test_output_stride_and_channels(stem_pool, strides, stride):
    net = TruncatedResNet(depth=18, strides=strides, stem_pool=stem_pool, base_channels=8)
    assert net.output_stride == stride and net.out_channels == 32
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 32, 32 // stride, 32 // stride)
    assert torch.isfinite(out).all()


def test_output_size_for_128px_paper_setting():
    net = TruncatedResNet(depth=18, strides=(1, 2, 1), stem_pool=False, base_channels=4)
    assert net(torch.randn(1, 3, 128, 128)).shape == (1, 16, 32, 32)  # H x W = 32 x 32


def test_gaussian_init_sigma():
    net = TruncatedResNet(depth=34, base_channels=8, init_std=0.01)
    weights = _conv_weights(net)
    assert weights.numel() > 50000
    assert weights.std().item() == pytest.approx(0.01, rel=0.03)
    assert weights.mean().abs().item() < 5e-4
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            assert torch.equal(module.weight, torch.ones_like(module.weight))
            assert torch.equal(module.bias, torch.zeros_like(module.bias))
    other = TruncatedResNet(depth=18, base_channels=8, init_std=0.05)
    assert _conv_weights(other).std().item() == pytest.approx(0.05, rel=0.05)


def test_init_weights_keeps_gaussian_init():
    net = TruncatedResNet(depth=18, base_channels=8)
    before = _conv_weights(net).clone()
    net.init_weights()
    assert torch.equal(_conv_weights(net), before)


def test_built_from_registry():
    net = MODELS.build(dict(type='TruncatedResNet', depth=18, base_channels=8, in_channels=1))
    assert net(torch.randn(2, 1, 32, 32)).shape == (2, 32, 4, 4)


def test_out_channels_projects_layer3_with_a_1x1_conv():
    torch.manual_seed(0)
    net = TruncatedResNet(depth=18, base_channels=4, out_channels=3).eval()
    assert net.out_channels == 3
    with torch.no_grad():
        net.projection.weight.copy_(torch.arange(48.0).view(3, 16, 1, 1) / 100)
        net.projection.bias.copy_(torch.tensor([1.0, -1.0, 0.5]))
    x = torch.randn(1, 3, 32, 32)
    out = net(x)
    trunk = net.layer3(net.layer2(net.layer1(net.maxpool(net.relu(net.bn1(net.conv1(x)))))))
    # out[c] = sum_j W[c, j] * layer3[j] + b[c]
    expected = torch.einsum('cj,bjhw->bchw', net.projection.weight[:, :, 0, 0], trunk)
    expected = expected + net.projection.bias.view(1, 3, 1, 1)
    assert out.shape == (1, 3, 4, 4)
    torch.testing.assert_close(out, expected)
    # the default has no projection parameters (state dict as torchvision's up to layer3)
    assert not any(k.startswith('projection') for k in TruncatedResNet().state_dict())


@pytest.mark.parametrize('kwargs, key', [
    (dict(depth=50), 'depth'),
    (dict(strides=(1, 2)), 'strides'),
    (dict(strides=(1, 0, 1)), 'strides'),
    (dict(base_channels=0), 'base_channels'),
    (dict(in_channels=True), 'in_channels'),
    (dict(out_channels=0), 'out_channels'),
    (dict(out_channels=2.5), 'out_channels'),
])
def test_bad_arguments(kwargs, key):
    with pytest.raises(ValueError, match=key) as info:
        TruncatedResNet(**kwargs)
    assert '\n' not in str(info.value)
