"""DisPart end to end (Liu et al. 2021 Eq. (1)-(12)) on tiny 32-px inputs, and its configs."""
import copy
import warnings

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope

from partseg.models.data_preprocessors import TPS_MASK_KEY
from partseg.models.part_segmentors import DisPart
from partseg.registry import MODELS
from partseg.structures import PartDataSample

K, L, SIZE = 3, 32, 32  # parts, appearance channels (4 * base_channels 8), image side

TINY = dict(
    type='DisPart',
    num_parts=K,
    data_preprocessor=dict(type='TPSPairPreprocessor'),
    shape_encoder=dict(
        type='TruncatedResNet', depth=18, strides=(1, 2, 1), stem_pool=False, base_channels=8),
    appearance_encoder=dict(
        type='TruncatedResNet', depth=34, strides=(1, 2, 1), stem_pool=False, base_channels=8),
    bottleneck=dict(type='AppearanceTransferBottleneck'),
    decoder=dict(
        type='DisPartDecoder', in_channels=L + 2, channels=(8, ) * 7, upsample_blocks=(1, 3)),
    reconstruction_loss=dict(type='PixelReconstructionLoss', criterion='l1', loss_weight=1.5),
    classification_loss=dict(
        type='ArcFaceLoss', num_classes=K, in_channels=L, s=20.0, m=0.5, loss_weight=1.5),
    foreground_loss=dict(type='ForegroundConcentrationLoss', loss_weight=0.5),
    background_loss=dict(type='BackgroundConcentrationLoss', loss_weight=1.0))

# The official code's 16x16 maps at 128 px: output stride 8, decoder upsamples x8.
SIXTEEN = dict(
    shape_encoder=dict(strides=(1, 2, 2)),
    appearance_encoder=dict(strides=(1, 2, 2)),
    decoder=dict(upsample_blocks=(1, 3, 5)))


def _merge(base: dict, update: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def build(**update) -> DisPart:
    return MODELS.build(_merge(TINY, update))


def batch(size: int = SIZE, num: int = 2, seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    return dict(inputs=[
        torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=generator)
        for _ in range(num)
    ])


def conv_weights(*modules: nn.Module) -> torch.Tensor:
    return torch.cat([
        m.weight.flatten() for module in modules for m in module.modules()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
    ])


@pytest.fixture
def partseg_scope():
    """Build under default scope 'partseg' (as the runner does); restore the previous scope."""
    with DefaultScope.overwrite_default_scope('partseg'):
        yield DefaultScope.get_current_instance()


def test_loss_keys_finite_and_gradients_reach_both_encoders():
    model = build().train()
    data = model.data_preprocessor(batch(), True)
    assert data['inputs'].shape == (2, 2, 3, SIZE, SIZE)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_rec', 'loss_cls', 'loss_fg', 'loss_bg'}
    assert all(value.dim() == 0 and torch.isfinite(value) for value in losses.values())
    sum(losses.values()).backward()
    for name in ('shape_encoder', 'appearance_encoder', 'part_head', 'decoder'):
        params = list(getattr(model, name).parameters())
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params), name
        assert sum(p.grad.abs().sum() for p in params) > 0, name
    assert model.classification_loss.weight.grad.abs().sum() > 0


def test_train_step_updates_weights():
    model = build()
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=5e-4)
    before = model.shape_encoder.conv1.weight.detach().clone()
    log_vars = model.train_step(batch(), OptimWrapper(optimizer))
    assert {'loss', 'loss_rec', 'loss_cls', 'loss_fg', 'loss_bg'} <= set(log_vars)
    assert not torch.equal(model.shape_encoder.conv1.weight, before)


def test_views_swap_appearance_and_losses_follow_eq5_eq12(monkeypatch):
    """x_hat(1) = D(expand(F(2), S(1))), x_hat(2) = D(expand(F(1), S(2))); directions summed."""
    model = build().eval()  # BN running statistics: a view encodes the same alone or stacked
    torch.manual_seed(1)
    data = model.data_preprocessor(batch(), True)
    pairs = data['inputs']  # (B, 2, 3, H, W)
    with torch.no_grad():
        s1, f1 = model.encode(pairs[:, 0])
        s2, f2 = model.encode(pairs[:, 1])
    calls = {}

    def spy(name, function):

        def wrapped(*args, **kwargs):
            calls[name] = (args, kwargs)
            return function(*args, **kwargs)

        return wrapped

    for name, module in (('rec', model.reconstruction_loss), ('cls', model.classification_loss),
                         ('fg', model.foreground_loss), ('bg', model.background_loss)):
        monkeypatch.setattr(module, 'forward', spy(name, module.forward))
    monkeypatch.setattr(model.bottleneck, 'expand', spy('expand', model.bottleneck.expand))
    with torch.no_grad():
        losses = model(**data, mode='loss')

    features, maps = calls['expand'][0]
    torch.testing.assert_close(features, torch.cat((f2, f1)))  # the other view's appearance
    torch.testing.assert_close(maps, torch.cat((s1, s2)))  # in this view's shape
    pred, target = calls['rec'][0]
    assert calls['rec'][1]['mask'] is None  # the paper does not mask
    unit = model.data_preprocessor.to_unit_range
    torch.testing.assert_close(target, unit(torch.cat((pairs[:, 0], pairs[:, 1]))))
    assert pred.shape == (4, 3, SIZE, SIZE)
    torch.testing.assert_close(calls['cls'][0][0], torch.cat((f1, f2))[:, 1:])  # no background
    torch.testing.assert_close(calls['fg'][0][0], torch.cat((s1, s2)))
    maps = torch.cat((s1, s2))
    torch.testing.assert_close(losses['loss_fg'], 2 * model.foreground_loss(maps))
    torch.testing.assert_close(losses['loss_bg'], 2 * model.background_loss(maps))
    torch.testing.assert_close(losses['loss_rec'], 2 * model.reconstruction_loss(pred, target))
    torch.testing.assert_close(losses['loss_cls'],
                               2 * model.classification_loss(torch.cat((f1, f2))[:, 1:]))


def test_part_maps_are_a_softmax_over_k_plus_one_channels():
    model = build().eval()
    images = model.data_preprocessor(batch(), False)['inputs']
    part_maps, features = model.encode(images)
    assert part_maps.shape == (2, K + 1, 8, 8) and features.shape == (2, K + 1, L)
    torch.testing.assert_close(part_maps, model(images, mode='tensor').softmax(1))
    torch.testing.assert_close(part_maps.sum(1), torch.ones(2, 8, 8))


def test_predict_returns_part_data_samples_of_image_size():
    model = build().eval()
    with torch.no_grad():
        samples = model.val_step(batch())  # no data samples: made by predict
        given = model.val_step(
            dict(
                **batch(),
                data_samples=[
                    PartDataSample(metainfo=dict(img_shape=(SIZE, SIZE))) for _ in range(2)
                ]))
    for sample in samples + given:
        assert isinstance(sample, PartDataSample)
        assert sample.seg_logits.data.shape == (K + 1, SIZE, SIZE)
        assert sample.pred_sem_seg.data.shape == (1, SIZE, SIZE)
        assert torch.equal(sample.pred_sem_seg.data, sample.seg_logits.data.argmax(0, keepdim=True))
        assert TPS_MASK_KEY not in sample  # evaluation sees plain images
    torch.testing.assert_close(samples[0].seg_logits.data, given[0].seg_logits.data)


def test_forward_tensor_mode():
    model = build().eval()
    images = model.data_preprocessor(batch(), False)['inputs']
    assert model(images, mode='tensor').shape == (2, K + 1, SIZE // 4, SIZE // 4)


def test_predict_on_size_not_divisible_by_the_stride():
    model = build().eval()
    samples = model(torch.randn(1, 3, 34, 34), mode='predict')
    assert samples[0].seg_logits.data.shape == (K + 1, 34, 34)


def test_swap_appearance():
    model = build().eval()
    images = model.data_preprocessor(batch(), False)['inputs']
    with torch.no_grad():
        swapped = model.swap_appearance(images, images.flip(0))
        _, features = model.encode(images)
        maps, _ = model.encode(images.flip(0))
        expected = model.render(features, maps, (SIZE, SIZE))  # F of image i in S of image 1 - i
    assert swapped.shape == (2, 3, SIZE, SIZE)
    torch.testing.assert_close(swapped, model.data_preprocessor.to_unit_range(expected).clamp(0, 1))
    with pytest.raises(ValueError, match='same shape'):
        model.swap_appearance(images, images[:1])


def test_gaussian_init_of_every_conv():
    model = build(init_std=0.02, decoder=dict(channels=(32, 32, 16, 16, 16, 16, 16)))
    weights = conv_weights(model.shape_encoder, model.appearance_encoder, model.part_head,
                           model.decoder)
    assert weights.std().item() == pytest.approx(0.02, rel=0.03)
    assert torch.equal(model.part_head.bias, torch.zeros(K + 1))
    model.init_weights()  # the runner calls it: it must keep the Gaussian init
    assert torch.equal(
        conv_weights(model.shape_encoder, model.appearance_encoder, model.part_head, model.decoder),
        weights)


def test_sixteen_by_sixteen_maps_option():
    model = build(**SIXTEEN).train()
    assert model.output_stride == 8
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    assert model(data['inputs'][:, 0], mode='tensor').shape == (2, K + 1, 4, 4)


def test_arcface_s30_option():
    model = build(classification_loss=dict(s=30.0)).train()
    assert model.classification_loss.s == 30.0
    losses = model(**model.data_preprocessor(batch(), True), mode='loss')
    assert torch.isfinite(losses['loss_cls'])


def test_masked_reconstruction_passes_tps_masks_view_major(monkeypatch):
    model = build(masked_reconstruction=True).train()
    data = model.data_preprocessor(batch(), True)
    seen = {}
    forward = model.reconstruction_loss.forward

    def spy(pred, target, mask=None):
        seen['mask'] = mask
        return forward(pred, target, mask=mask)

    monkeypatch.setattr(model.reconstruction_loss, 'forward', spy)
    losses = model(**data, mode='loss')
    masks = [s.get(TPS_MASK_KEY).data for s in data['data_samples']]  # each (2, H, W)
    expected = torch.stack([masks[0][0], masks[1][0], masks[0][1], masks[1][1]])[:, None]
    torch.testing.assert_close(seen['mask'], expected)
    assert torch.isfinite(losses['loss_rec'])
    with pytest.raises(KeyError, match=TPS_MASK_KEY):
        model(data['inputs'], [PartDataSample(), PartDataSample()], mode='loss')


def _training_losses_seen_by(monkeypatch, model: DisPart, module: nn.Module):
    """Training losses of ``model`` on a batch and the input ``module`` got during them."""
    seen = {}
    forward = module.forward

    def spy(x, *args, **kwargs):
        seen['input'] = x
        return forward(x, *args, **kwargs)

    monkeypatch.setattr(module, 'forward', spy)
    losses = model(**model.data_preprocessor(batch(), True), mode='loss')
    return losses, seen['input']


def test_classify_background_option(monkeypatch):
    model = build(classify_background=True, classification_loss=dict(num_classes=K + 1)).train()
    losses, features = _training_losses_seen_by(monkeypatch, model, model.classification_loss)
    assert features.shape == (4, K + 1, L)
    assert torch.isfinite(losses['loss_cls'])
    with pytest.raises(ValueError, match='classification_loss.num_classes'):
        build(classify_background=True)


def test_without_coordinate_channels(monkeypatch):
    """coordinate_channels=None: the decoder gets the rendered appearance (L channels) alone."""
    model = build(coordinate_channels=None, decoder=dict(in_channels=L)).train()
    losses, rendered = _training_losses_seen_by(monkeypatch, model, model.decoder)
    assert rendered.shape == (4, L, SIZE // 4, SIZE // 4)
    assert all(torch.isfinite(v) for v in losses.values())
    with pytest.raises(ValueError, match='decoder.in_channels must be L \\+ coordinate'):
        build(coordinate_channels=None)  # in_channels L + 2 left in place


def _batch_sizes_seen(model: DisPart, data: dict, *modules: nn.Module) -> list:
    """Losses of ``model`` on ``data`` and the batch sizes each of ``modules`` was called with."""
    seen = [[] for _ in modules]
    handles = [
        module.register_forward_hook(lambda m, args, out, sizes=sizes: sizes.append(len(out)))
        for module, sizes in zip(modules, seen)
    ]
    try:
        losses = model(**data, mode='loss')
    finally:
        for handle in handles:
            handle.remove()
    return losses, seen


def test_view_batching_separate():
    """'separate': each TPS view passes the encoders and the decoder as its own batch of B (BN
    statistics per view, official code); with BN running statistics the losses equal 'joint'."""
    joint = build()
    separate = build(view_batching='separate')
    separate.load_state_dict(joint.state_dict())
    data = joint.data_preprocessor(batch(num=3), True)  # B = 3, 2B = 6 views
    joint.eval(), separate.eval()
    expected, got = joint(**data, mode='loss'), separate(**data, mode='loss')
    for key in expected:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-5, atol=1e-6)
    modules = ('shape_encoder', 'appearance_encoder', 'decoder')
    for model, sizes in ((joint, [6]), (separate, [3, 3])):
        model.train()
        _, seen = _batch_sizes_seen(model, data, *(getattr(model, name) for name in modules))
        assert seen == [sizes] * len(modules)
    # in training the BN statistics differ: each view is normalised over its own B images
    joint.train(), separate.train()
    assert not torch.allclose(
        separate(**data, mode='loss')['loss_rec'],
        joint(**data, mode='loss')['loss_rec'])


@pytest.mark.parametrize('update, key', [
    (dict(num_parts=0), 'num_parts'),
    (dict(num_parts=4), 'classification_loss.num_classes'),
    (dict(classification_loss=dict(in_channels=16)), 'classification_loss.in_channels'),
    (dict(decoder=dict(in_channels=L)), 'decoder.in_channels'),
    (dict(decoder=dict(upsample_blocks=(1, 3, 5))), 'decoder.upsample_blocks'),
    (dict(shape_encoder=dict(strides=(1, 2, 2))), 'shape_encoder.strides'),
    (dict(view_batching='both'), 'view_batching'),
])
def test_bad_config_one_line_value_error(update, key):
    with pytest.raises(ValueError, match=key) as info:
        build(**update)
    assert '\n' not in str(info.value)


def test_bad_preprocessor():
    with pytest.raises(TypeError, match='data_preprocessor'):
        build(data_preprocessor=dict(type='mmengine.ImgDataPreprocessor'))


def test_bad_image_sizes_one_line_value_error():
    model = build().eval()
    for mode in ('tensor', 'predict'):
        with pytest.raises(ValueError, match='inputs.*smaller') as info:
            model(torch.randn(1, 3, 12, 16), mode=mode)  # needs >= 4 map cells = 16 px
        assert '\n' not in str(info.value)
    with pytest.raises(ValueError, match='inputs.*divisible'):
        model(torch.randn(1, 2, 3, 34, 34), mode='loss')
    with pytest.raises(ValueError, match='TPSPairPreprocessor'):
        model(torch.randn(2, 3, SIZE, SIZE), mode='loss')


def test_base_config_builds_with_paper_settings(partseg_scope):
    cfg = Config.fromfile('configs/_base_/models/dispart.py')
    with torch.device('meta'), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # random VGG-19 (pretrained=None)
        full = MODELS.build(cfg.model)
    assert isinstance(full, DisPart) and full.num_parts == 8
    assert full.shape_encoder.depth == 18 and full.appearance_encoder.depth == 34
    assert full.shape_encoder.strides == (1, 2, 1) and full.output_stride == 4  # 32x32 at 128
    assert full.appearance_encoder.out_channels == 256 and full.decoder.in_channels == 258
    assert len(full.decoder.blocks) == 7 and full.decoder.upsample_blocks == (1, 3)
    assert full.part_head.out_channels == 9 and full.part_head.kernel_size == (1, 1)
    pre = full.data_preprocessor
    assert (pre.grid_size, pre.point_std, pre.extra_point_std, pre.extra_point_prob,
            pre.translation_std, pre.rotation_std, pre.scale_std) == (10, 0.001, 0.005, 0.5, 0.1,
                                                                      0.0, 0.0)
    arcface = full.classification_loss
    assert (arcface.num_classes, arcface.s, arcface.m, arcface.loss_weight) == (8, 20.0, 0.5, 1.5)
    assert type(full.reconstruction_loss).__name__ == 'PerceptualLoss'
    assert full.reconstruction_loss.layers == ('input', 'conv1_2', 'conv2_2', 'conv3_2', 'conv4_2',
                                               'conv5_2')
    assert full.reconstruction_loss.weight_update_interval == 100
    assert (full.reconstruction_loss.loss_weight, full.foreground_loss.loss_weight,
            full.background_loss.loss_weight) == (1.5, 0.5, 1.0)
    assert not full.masked_reconstruction and not full.classify_background
    # official layout: one view per forward pass, the VGG on one view at a time
    assert full.view_batching == 'separate' and full.reconstruction_loss.feature_chunks == 2

    # tiny overrides, real tensors: one training loss and one prediction
    cfg.merge_from_dict({
        'model.num_parts': K,
        'model.classification_loss.num_classes': K,
        'model.shape_encoder.base_channels': 8,
        'model.appearance_encoder.base_channels': 8,
        'model.decoder.in_channels': L + 2,
        'model.decoder.channels': (8, ) * 7,
        'model.classification_loss.in_channels': L,
        'model.reconstruction_loss.layers': ('input', 'conv1_2'),
    })
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = MODELS.build(cfg.model).train()
    losses = model(**model.data_preprocessor(batch(), True), mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        assert model.val_step(batch())[0].seg_logits.shape == (SIZE, SIZE)


def test_synthetic_quickstart_config_builds(partseg_scope):
    cfg = Config.fromfile('configs/dispart/synthetic_k4.py')
    model = MODELS.build(cfg.model).eval()
    assert model.view_batching == 'joint'  # the setting its documented figures were measured with
    size = cfg.image_size
    with torch.no_grad():
        logits = model(torch.randn(1, 3, size, size), mode='tensor')
    assert logits.shape[:2] == (1, cfg.num_parts + 1)


def _recording_loss(log):
    """A reconstruction loss that is not linear in the batch: mean squared error, squared."""

    class Squared(nn.Module):

        def forward(self, pred, target, mask=None):
            log.append(target)
            return ((pred - target)**2).mean()**2

    return Squared()


def test_per_view_losses_official_sum_over_views():
    """``per_view_losses``: every loss on each view's B images, summed (official code). Equal to
    2 x the joint loss for losses linear in the batch mean, the per-view sum otherwise."""
    joint = build(view_batching='separate')
    per_view = build(view_batching='separate', per_view_losses=True)
    per_view.load_state_dict(joint.state_dict())
    data = joint.data_preprocessor(batch(num=3), True)
    joint.eval(), per_view.eval()
    expected, got = joint(**data, mode='loss'), per_view(**data, mode='loss')
    for key in ('loss_cls', 'loss_fg', 'loss_bg', 'loss_rec'):  # linear in the batch mean
        torch.testing.assert_close(got[key], expected[key], rtol=1e-5, atol=1e-6)
    calls_joint, calls_view = [], []
    joint.reconstruction_loss = _recording_loss(calls_joint)
    per_view.reconstruction_loss = _recording_loss(calls_view)
    rec_joint = joint(**data, mode='loss')['loss_rec']
    rec_view = per_view(**data, mode='loss')['loss_rec']
    assert [t.shape[0] for t in calls_joint] == [6]
    assert [t.shape[0] for t in calls_view] == [3, 3]
    # by hand: the views' reconstructions against their own images
    images = data['inputs'].transpose(0, 1)  # (2, B, 3, H, W)
    with torch.no_grad():
        maps, feats = zip(*(per_view.encode(images[v]) for v in range(2)))
        recon = [per_view.render(feats[1 - v], maps[v], (SIZE, SIZE)) for v in range(2)]
    to_unit = per_view.data_preprocessor.to_unit_range
    by_hand = sum(((to_unit(recon[v]) - to_unit(images[v]))**2).mean()**2 for v in range(2))
    # the second view's loss first, as the official code calls them
    torch.testing.assert_close(calls_view[0], to_unit(images[1]))
    torch.testing.assert_close(rec_view, by_hand, rtol=1e-5, atol=1e-8)
    assert not torch.allclose(rec_view, rec_joint)


def test_official_inits():
    """``init_std=None`` everywhere: torchvision's Kaiming (fan_out) encoders, PyTorch defaults
    in the decoder and the part head (the official code)."""
    torch.manual_seed(0)
    model = build(
        init_std=None,
        shape_encoder=dict(init_std=None),
        appearance_encoder=dict(init_std=None),
        decoder=dict(init_std=None))
    conv = model.appearance_encoder.layer3[0].conv1  # 3x3, 16 -> 32 channels
    fan_out = conv.weight.shape[0] * 9
    assert conv.weight.std().item() == pytest.approx((2 / fan_out)**0.5, rel=0.1)
    # PyTorch's default conv init: uniform with bound 1 / sqrt(fan_in), not N(0, 0.01)
    final = model.decoder.final_conv
    bound = 1 / (final.weight[0].numel())**0.5
    assert final.weight.abs().max().item() <= bound
    assert final.weight.std().item() > 0.3 * bound > 0.01
    assert model.part_head.bias.abs().sum() > 0
