"""Perceptual loss (Liu et al. 2021 Eq. 5, appendix A.2) on a random-init VGG-19, 32x32 images.

No weights are downloaded: pretrained loading reads a state_dict saved in tmp_path or a fake file
in a temporary torch hub cache, with the network blocked.
"""
import warnings

import pytest
import torch
import torch.nn.functional as F
import torchvision
from mmengine.runner.checkpoint import CheckpointLoader
from torchvision.models.vgg import cfgs, make_layers

from partseg.models.backbones import VGG19_URL, VGG19Features
from partseg.models.losses import PerceptualLoss
from partseg.registry import MODELS
from partseg.utils.pretrained_weights import MissingPretrainedWeightsError

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def _random_loss(**kwargs) -> PerceptualLoss:
    with pytest.warns(UserWarning, match='randomly initialised'):
        return PerceptualLoss(**kwargs)


@pytest.fixture(scope='module')
def full_loss():
    """All six A.2 layers on a random VGG, kept in eval mode (no running-mean updates)."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        loss = PerceptualLoss()
    return loss.eval()


def _conv1_2(images: torch.Tensor, loss: PerceptualLoss) -> torch.Tensor:
    """relu(conv1_2(relu(conv1_1(normalised images)))) written out with the loss's weights."""
    x = (images - MEAN) / STD
    x = F.relu(F.conv2d(x, loss.vgg[0].weight, loss.vgg[0].bias, padding=1))
    return F.relu(F.conv2d(x, loss.vgg[2].weight, loss.vgg[2].bias, padding=1))


def _hand_distances(pred, target, loss):
    """Mean squared distance at 'input' and 'conv1_2'."""
    d_input = (((pred - MEAN) / STD - (target - MEAN) / STD)**2).mean()
    d_conv = ((_conv1_2(pred, loss) - _conv1_2(target, loss))**2).mean()
    return torch.stack([d_input, d_conv])


def test_identical_images_give_zero(full_loss):
    img = torch.rand(2, 3, 32, 32)
    assert full_loss(img, img.clone()).item() == 0.0
    assert len(full_loss.vgg) == 32  # features up to the ReLU after conv5_2, nothing deeper
    assert full_loss(img, torch.rand(2, 3, 32, 32)).item() > 0


def test_all_ones_mask_equals_unmasked(full_loss):
    pred, target = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    ones = torch.ones(1, 1, 32, 32)
    assert full_loss(pred, target, ones).item() == pytest.approx(
        full_loss(pred, target).item(), rel=1e-5)


def test_gradient_reaches_pred_not_vgg(full_loss):
    pred = torch.rand(1, 3, 32, 32, requires_grad=True)
    full_loss(pred, torch.rand(1, 3, 32, 32)).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in full_loss.vgg.parameters())


def test_masked_input_layer_by_hand():
    loss = _random_loss(layers=('input', ), mask_reduction='mask_sum')
    assert len(loss.vgg) == 0
    pred, target = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    mask = torch.zeros(2, 1, 8, 8)
    mask[:, :, :, :3] = 1.0
    sq = ((pred - target) / STD)**2
    expected = (sq * mask).sum() / (3 * mask.sum())
    assert loss(pred, target, mask).item() == pytest.approx(expected.item(), rel=1e-5)
    official = _random_loss(layers=('input', ), mask_reduction='mean')
    assert official(pred, target, mask).item() == pytest.approx((sq * mask).mean().item(), rel=1e-5)


def test_running_mean_weights_refresh_exactly_at_interval():
    loss = _random_loss(layers=('input', 'conv1_2'), weight_update_interval=3).train()
    assert len(loss.vgg) == 4 and not loss.vgg.training
    torch.manual_seed(0)
    pairs = [(torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)) for _ in range(4)]
    hand = [_hand_distances(p, t, loss) for p, t in pairs]

    for step in range(2):
        out = loss(*pairs[step])
        assert out.item() == pytest.approx(hand[step].mean().item(), rel=1e-5)  # weights all 1
        assert torch.equal(loss.layer_weights, torch.ones(2))
        assert int(loss.num_accumulated) == step + 1
    snapshot = {k: v.clone() for k, v in loss.state_dict().items()}

    loss(*pairs[2])  # the 3rd training call refreshes the weights
    mean = torch.stack(hand[:3]).mean(0)
    torch.testing.assert_close(loss.layer_weights, 1 / mean, rtol=1e-4, atol=0)
    assert int(loss.num_accumulated) == 0 and loss.loss_accumulator.abs().sum() == 0

    out = loss(*pairs[3])  # weighted average with the new weights: (w0 d0 + w1 d1) / 2
    expected = (loss.layer_weights * hand[3]).sum() / 2
    assert out.item() == pytest.approx(expected.item(), rel=1e-4)

    # eval calls leave the state alone
    state = loss.layer_weights.clone(), int(loss.num_accumulated)
    loss.eval()(*pairs[0])
    assert torch.equal(loss.layer_weights, state[0]) and int(loss.num_accumulated) == state[1]

    # a checkpoint taken mid-interval resumes exactly (VGG weights included)
    resumed = _random_loss(layers=('input', 'conv1_2'), weight_update_interval=3)
    resumed.load_state_dict(snapshot)
    resumed.train()(*pairs[2])
    torch.testing.assert_close(resumed.layer_weights, 1 / mean, rtol=1e-4, atol=0)


def test_backward_through_the_refresh_step():
    """The call that refreshes the weights still back-propagates, with the weights it used."""
    loss = _random_loss(layers=('input', 'conv1_2'), weight_update_interval=1).train()
    torch.manual_seed(0)
    target = torch.rand(2, 3, 16, 16)
    pred = torch.rand(2, 3, 16, 16, requires_grad=True)
    loss(pred, target).backward()  # refreshes layer_weights in place before backward runs
    assert not torch.equal(loss.layer_weights, torch.ones(2))

    reference = pred.detach().clone().requires_grad_(True)
    _hand_distances(reference, target, loss).mean().backward()  # the weights of that call: 1
    torch.testing.assert_close(pred.grad, reference.grad, rtol=1e-5, atol=1e-8)


def test_fixed_weights():
    loss = _random_loss(
        layers=('input', 'conv1_2'),
        layer_weighting='fixed',
        layer_weights=(2.0, 0.5),
        weight_update_interval=1,
        loss_weight=1.5)
    loss.train()
    pred, target = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    d = _hand_distances(pred, target, loss)
    for _ in range(2):
        out = loss(pred, target)
        assert out.item() == pytest.approx(1.5 * (2.0 * d[0] + 0.5 * d[1]).item() / 2, rel=1e-5)
    assert torch.equal(loss.layer_weights, torch.tensor([2.0, 0.5]))


@pytest.mark.parametrize(
    'num, chunks, masked, reduction',
    [
        (4, 2, False, 'mask_sum'),  # one slice per TPS view of a DisPart batch
        (5, 2, True, 'mask_sum'),  # uneven slices (3 + 2)
        (5, 3, True, 'mean'),
        (1, 3, False, 'mask_sum'),  # more slices than images: the empty ones are skipped
    ])
def test_feature_chunks_same_loss_and_gradient(num, chunks, masked, reduction):
    """feature_chunks runs the VGG slice by slice; the loss and its gradient do not change."""
    kwargs = dict(layers=('input', 'conv1_2', 'conv2_2'), mask_reduction=reduction)
    whole = _random_loss(**kwargs).eval()
    sliced = _random_loss(feature_chunks=chunks, **kwargs).eval()
    sliced.load_state_dict(whole.state_dict())
    torch.testing.assert_close(sliced.vgg[0].weight, whole.vgg[0].weight)
    generator = torch.Generator().manual_seed(num * 10 + chunks)
    pred = torch.rand(num, 3, 16, 16, generator=generator)
    target = torch.rand(num, 3, 16, 16, generator=generator)
    mask = torch.rand(num, 1, 16, 16, generator=generator) if masked else None

    batch_sizes = []
    first_conv = sliced.vgg[0]
    first_conv.register_forward_hook(lambda module, args, out: batch_sizes.append(len(out)))
    results = []
    for loss in (whole, sliced):
        leaf = pred.clone().requires_grad_(True)
        value = loss(leaf, target, mask)
        value.backward()
        results.append((value.detach(), leaf.grad))
    torch.testing.assert_close(results[1][0], results[0][0], rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(results[1][1], results[0][1], rtol=1e-5, atol=1e-9)
    # pred and target of each non-empty slice, in order
    expected = [len(part) for part in torch.arange(num).tensor_split(chunks) if len(part)]
    assert batch_sizes == [size for size in expected for _ in range(2)]


def _save_vgg_state(path, drop=None):
    """Random torchvision VGG-19 features (first 9 modules, up to conv2_2) in vgg19's key layout,
    plus a classifier entry the loss must ignore."""
    torch.manual_seed(1)
    features = make_layers(cfgs['E'])[:9]
    state = {f'features.{k}': v for k, v in features.state_dict().items()}
    state['classifier.6.bias'] = torch.zeros(1000)
    if drop is not None:
        del state[drop]
    torch.save(state, path)
    return state


def test_vgg19_key_layout_matches_torchvision():
    with torch.device('meta'):
        reference = torchvision.models.vgg19()
        with pytest.warns(UserWarning, match='randomly initialised'):
            vgg = VGG19Features('relu5_2')
    expected = {f'features.{k}' for k in vgg.state_dict()}
    assert len(expected) == 28  # the 14 convs up to conv5_2
    assert expected <= set(reference.state_dict())


def test_pretrained_path_loads_in_init_weights_not_at_build(tmp_path):
    path = tmp_path / 'vgg19.pth'
    state = _save_vgg_state(path)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no random-init warning
        loss = MODELS.build(
            dict(
                type='PerceptualLoss', layers=('input', 'conv1_2', 'conv2_2'),
                pretrained=str(path)))
    assert not torch.equal(loss.vgg[0].weight, state['features.0.weight'])  # nothing read yet
    loss.init_weights()
    for key, value in loss.vgg.state_dict().items():
        assert torch.equal(value, state[f'features.{key}'])
    loss.vgg[0].weight.data.zero_()
    loss.init_weights()
    assert torch.equal(loss.vgg[0].weight, state['features.0.weight'])


def test_pretrained_url_goes_through_torch_hub(tmp_path, monkeypatch):
    state = _save_vgg_state(tmp_path / 'vgg19.pth')
    calls = []

    def fake_load(url, map_location=None):
        calls.append(url)
        return state

    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))  # an empty hub cache
    monkeypatch.setattr(CheckpointLoader, 'load_checkpoint', fake_load)
    loss = PerceptualLoss(layers=('conv2_2', ), pretrained='https://example.org/vgg19.pth')
    assert calls == []  # nothing at build
    loss.init_weights()
    assert calls == ['https://example.org/vgg19.pth']
    assert torch.equal(loss.vgg[7].weight, state['features.7.weight'])


def test_pretrained_errors(tmp_path):
    missing = tmp_path / 'nope.pth'
    loss = PerceptualLoss(layers=('conv1_2', ), pretrained=str(missing))  # builds
    with pytest.raises(FileNotFoundError, match='nope.pth') as error:
        loss.init_weights()
    assert isinstance(error.value, MissingPretrainedWeightsError)
    assert str(error.value).startswith('PerceptualLoss.pretrained: ')
    assert VGG19_URL in str(error.value) and '\n' not in str(error.value)
    partial = tmp_path / 'partial.pth'
    _save_vgg_state(partial, drop='features.7.weight')
    with pytest.raises(KeyError, match='features.7.weight'):
        PerceptualLoss(layers=('conv2_2', ), pretrained=str(partial)).init_weights()


def test_bad_config():
    with pytest.raises(ValueError, match='unknown VGG-19 layer'):
        PerceptualLoss(layers=('conv6_1', ))
    with pytest.raises(ValueError, match='layer_weights'):
        PerceptualLoss(layers=('input', ), layer_weights=(1.0, 2.0))
    with pytest.raises(ValueError, match='layer_weighting'):
        PerceptualLoss(layer_weighting='ema')
    for chunks in (0, 1.5, True):
        with pytest.raises(ValueError, match='feature_chunks'):
            PerceptualLoss(feature_chunks=chunks)
    with pytest.raises(ValueError, match='batch size 0'):
        _random_loss(layers=('input', ))(torch.rand(0, 3, 8, 8), torch.rand(0, 3, 8, 8))
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        _random_loss(layers=('input', ))(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8))


def test_multiply_by_distance_sum_official_product():
    """Official PerceptualNewLoss: (sum_i w_i d_i / N) * sum_j d_j, on 'input' and 'conv1_2'."""
    weights = [2.0, 0.5]
    loss = _random_loss(
        layers=('input', 'conv1_2'),
        layer_weighting='fixed',
        layer_weights=weights,
        multiply_by_distance_sum=True)
    pred = torch.rand(2, 3, 8, 8, requires_grad=True)
    target = torch.rand(2, 3, 8, 8)
    d = _hand_distances(pred.detach(), target, loss)
    expected = (2.0 * d[0] + 0.5 * d[1]) / 2 * (d[0] + d[1])
    out = loss(pred, target)
    assert out.item() == pytest.approx(expected.item(), rel=1e-5)
    # the gradient flows through both factors
    out.backward()
    p = pred.detach().clone().requires_grad_(True)
    x = (p - MEAN) / STD
    t = (target - MEAN) / STD
    d0 = ((x - t)**2).mean()
    d1 = ((_conv1_2(p, loss) - _conv1_2(target, loss))**2).mean()
    ((2.0 * d0 + 0.5 * d1) / 2 * (d0 + d1)).backward()
    torch.testing.assert_close(pred.grad, p.grad, rtol=1e-4, atol=1e-8)
