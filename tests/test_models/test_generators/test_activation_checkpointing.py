"""Activation checkpointing (``with_cp``, a toolbox option): same outputs, gradients, BN stats."""
import copy

import pytest
import torch

from partseg.engine.optimizers import MultipleOptimWrapperConstructor
from partseg.models.layers import AdaINConvBlock, SPADEResBlock
from partseg.registry import MODELS
from partseg.structures import PartDataSample

TINY_GANSEG = dict(
    type='GANSeg',
    generator=dict(
        type='GANSegGenerator',
        num_parts=2,
        z_dim=8,
        emb_dim=8,
        spade_hidden=8,
        adain_hidden=8,
        feature_map_sizes=(8, 16),
        mask_channels=(16, 8),
        fg_channels=(16, 8),
        bg_channels=(16, 8),
        margin=4,
        heatmap_type='linear',
        scale_type='mean_abs'),
    discriminator=dict(type='GANSegDiscriminator', channels=(8, 8), image_size=16, fc_channels=8))


def saved_tensor_count(function):
    """``function()`` and the number of tensors autograd saved for backward while it ran."""
    count = [0]

    def pack(tensor):
        count[0] += 1
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out = function()
    return out, count[0]


def pair(module):
    """The module with ``with_cp=False`` and an identical copy with ``with_cp=True``."""
    checkpointed = copy.deepcopy(module)
    for sub in checkpointed.modules():
        if hasattr(sub, 'with_cp'):
            sub.with_cp = True
    return module, checkpointed


def assert_same_step(plain, checkpointed, run):
    """One forward + backward of each: outputs, parameter gradients and buffers agree."""
    out_plain, out_cp = run(plain), run(checkpointed)
    for a, b in zip(out_plain, out_cp):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-6)
    grads_plain = dict(plain.named_parameters())
    for name, param in checkpointed.named_parameters():
        assert (param.grad is None) == (grads_plain[name].grad is None), name
        if param.grad is not None:
            torch.testing.assert_close(param.grad, grads_plain[name].grad, rtol=0, atol=1e-6)
    # BN running statistics updated once per forward, not again by the recomputation
    buffers_plain = dict(plain.named_buffers())
    assert buffers_plain
    for name, buf in checkpointed.named_buffers():
        torch.testing.assert_close(buf, buffers_plain[name], rtol=0, atol=0)


def test_spade_resblock_checkpointed_matches_plain():
    torch.manual_seed(0)
    plain, checkpointed = pair(SPADEResBlock(4, 3, style_channels=2, hidden_channels=5).train())
    x, style = torch.randn(2, 4, 6, 6), torch.randn(2, 2, 6, 6)
    weights = torch.randn(2, 3, 6, 6)

    def run(block):
        inputs = x.clone().requires_grad_(), style.clone().requires_grad_()
        out = block(*inputs)
        (out * weights).sum().backward()
        return out, inputs[0].grad, inputs[1].grad

    assert_same_step(plain, checkpointed, run)
    assert int(checkpointed.spade1.norm.num_batches_tracked) == 1
    # the momentum-0.1 update of one forward: 0.9 * 0 + 0.1 * batch mean
    torch.testing.assert_close(checkpointed.spade1.norm.running_mean, 0.1 * x.mean((0, 2, 3)))


def test_adain_conv_block_checkpointed_matches_plain():
    torch.manual_seed(0)
    plain, checkpointed = pair(AdaINConvBlock(3, 4, style_channels=2, hidden_channels=5).train())
    x, style = torch.randn(2, 3, 5, 5), torch.randn(2, 2)

    def run(block):
        inputs = x.clone().requires_grad_(), style.clone().requires_grad_()
        out = block(*inputs)
        out.square().sum().backward()
        return out, inputs[0].grad, inputs[1].grad

    assert_same_step(plain, checkpointed, run)
    torch.testing.assert_close(checkpointed.adain.norm.running_mean, 0.1 * x.mean((0, 2, 3)))


def test_generator_checkpointed_matches_plain(tiny_generator):
    plain, checkpointed = pair(tiny_generator().train())
    assert checkpointed.background_generator.blocks[0].with_cp
    noise = plain.sample_noise(2)

    def run(generator):
        out = generator(noise)
        (out['image'].square().sum() + out['masks'][:, 1:].square().sum()).backward()
        return out['image'], out['masks']

    assert_same_step(plain, checkpointed, run)


def test_recomputed_twice_with_retained_graph(tiny_generator):
    # a second backward through a retained graph recomputes the blocks again: the gradients add
    # up and the BN statistics still hold one update
    plain, checkpointed = pair(tiny_generator().train())
    noise = plain.sample_noise(2)

    def run(generator):
        out = generator(noise)
        out['image'].square().sum().backward(retain_graph=True)
        out['image'].square().sum().backward()
        return out['image'],

    assert_same_step(plain, checkpointed, run)


def test_ganseg_train_steps_match():
    # GANSeg's D step (gradient penalty, fakes under no_grad) and G step with a checkpointed
    # generator: the same weights and BN statistics after two Adam steps
    torch.manual_seed(0)
    plain, checkpointed = pair(MODELS.build(TINY_GANSEG))
    assert checkpointed.generator.mask_generator.blocks[0].with_cp
    optim = dict(
        generator=dict(optimizer=dict(type='Adam', lr=1e-3)),
        discriminator=dict(optimizer=dict(type='Adam', lr=1e-3)))
    data = dict(
        inputs=[torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8) for _ in range(2)],
        data_samples=[PartDataSample() for _ in range(2)])
    for model in (plain, checkpointed):
        wrappers = MultipleOptimWrapperConstructor(copy.deepcopy(optim))(model)
        torch.manual_seed(1)
        for _ in range(2):
            model.train_step(copy.deepcopy(data), wrappers)
    state_plain = plain.state_dict()
    for key, value in checkpointed.state_dict().items():
        torch.testing.assert_close(value, state_plain[key], rtol=0, atol=1e-6, msg=key)


def test_generator_checkpoints_only_when_training_with_grads(tiny_generator):
    plain, checkpointed = tiny_generator(), tiny_generator(with_cp=True)
    noise = plain.sample_noise(2)
    _, saved_plain = saved_tensor_count(lambda: plain.train()(noise))
    _, saved_cp = saved_tensor_count(lambda: checkpointed.train()(noise))
    assert saved_cp < saved_plain / 2  # only the blocks' inputs are kept
    # eval mode: the plain forward, nothing recomputed
    _, saved_eval = saved_tensor_count(lambda: checkpointed.eval()(noise))
    _, saved_eval_plain = saved_tensor_count(lambda: plain.eval()(noise))
    assert saved_eval == saved_eval_plain
    with torch.no_grad():
        out = checkpointed.train()(noise)
    assert not out['image'].requires_grad


def test_with_cp_must_be_bool(tiny_generator):
    builds = (lambda: SPADEResBlock(2, 2, 2, 2, with_cp='True'),
              lambda: AdaINConvBlock(2, 2, 2, 2, with_cp='True'),
              lambda: tiny_generator(with_cp='True'))
    for build in builds:
        with pytest.raises(TypeError, match="with_cp must be True or False, got 'True'"):
            build()
