"""MultipleOptimWrapperConstructor: one optimizer per GAN sub-module, built from a config."""
import pytest
import torch
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

import partseg.engine.optimizers.multiple_optim_wrapper_constructor as constructor_module
from partseg.engine import safe_load
from partseg.engine.optimizers import MultipleOptimWrapperConstructor


class ToyGAN(nn.Module):
    """A generator and a discriminator, as GANSeg holds them (DESIGN.md section 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.generator = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
        self.discriminator = nn.Linear(2, 1)


GAN_CFG = dict(
    constructor='MultipleOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.5, 0.9))),
    discriminator=dict(optimizer=dict(type='Adam', lr=4e-4, betas=(0.5, 0.9))))


@pytest.fixture
def scope():
    DefaultScope.get_instance('test_multiple_optim_wrapper', scope_name='partseg')


def param_ids(optimizer) -> set:
    return {id(p) for group in optimizer.param_groups for p in group['params']}


def test_builds_one_wrapper_per_sub_module(scope):
    model = ToyGAN()
    wrappers = build_optim_wrapper(model, GAN_CFG)
    assert isinstance(wrappers, OptimWrapperDict)
    assert sorted(wrappers.keys()) == ['discriminator', 'generator']
    g_opt = wrappers['generator'].optimizer
    d_opt = wrappers['discriminator'].optimizer
    assert isinstance(g_opt, torch.optim.Adam) and isinstance(d_opt, torch.optim.Adam)
    assert param_ids(g_opt) == {id(p) for p in model.generator.parameters()}
    assert param_ids(d_opt) == {id(p) for p in model.discriminator.parameters()}
    assert g_opt.param_groups[0]['lr'] == 1e-4 and d_opt.param_groups[0]['lr'] == 4e-4
    assert g_opt.param_groups[0]['betas'] == (0.5, 0.9)


def test_discriminator_step_leaves_the_generator_alone(scope):
    model = ToyGAN()
    wrappers = build_optim_wrapper(model, GAN_CFG)
    g_before = [p.detach().clone() for p in model.generator.parameters()]
    d_before = [p.detach().clone() for p in model.discriminator.parameters()]
    fake = model.generator(torch.randn(4, 4))  # (4, 4) -> (4, 2)
    d_loss = model.discriminator(fake.detach()).mean()
    wrappers['discriminator'].update_params(d_loss)
    assert all(torch.equal(a, b) for a, b in zip(g_before, model.generator.parameters()))
    assert not any(torch.equal(a, b) for a, b in zip(d_before, model.discriminator.parameters()))


def test_paramwise_cfg_inside_an_entry_applies_to_that_module_only(scope):
    cfg = dict(GAN_CFG)
    cfg['generator'] = dict(
        optimizer=dict(type='SGD', lr=0.1, weight_decay=0.01),
        paramwise_cfg=dict(norm_decay_mult=0.0, bias_lr_mult=2.0))
    model = ToyGAN()
    wrappers = build_optim_wrapper(model, cfg)
    groups = {id(g['params'][0]): g for g in wrappers['generator'].optimizer.param_groups}
    bn = model.generator[1]
    assert groups[id(bn.weight)]['weight_decay'] == 0.0
    assert groups[id(model.generator[0].bias)]['lr'] == pytest.approx(0.2)
    assert groups[id(model.generator[0].weight)]['lr'] == pytest.approx(0.1)
    assert len(wrappers['discriminator'].optimizer.param_groups) == 1


def test_optimizer_states_round_trip_through_a_safe_checkpoint(scope, tmp_path):
    model = ToyGAN()
    wrappers = build_optim_wrapper(model, GAN_CFG)
    wrappers['generator'].update_params(
        model.discriminator(model.generator(torch.randn(4, 4))).mean())
    path = tmp_path / 'optim.pth'
    torch.save({'optimizer': wrappers.state_dict()}, path)
    restored = build_optim_wrapper(ToyGAN(), GAN_CFG)
    restored.load_state_dict(safe_load(path)['optimizer'])
    state = restored['generator'].optimizer.state_dict()['state']
    assert len(state) == len(list(model.generator.parameters())) and state[0]['step'] == 1


@pytest.mark.parametrize(
    'cfg, error, fragment', [
        (dict(
            constructor='MultipleOptimWrapperConstructor',
            mapping=dict(optimizer=dict(type='Adam', lr=1e-4))), KeyError, 'optim_wrapper.mapping'),
        (dict(constructor='MultipleOptimWrapperConstructor', generator=dict(lr=1e-4)), ValueError,
         'optim_wrapper.generator must be a dict with an optimizer'),
        (dict(
            constructor='MultipleOptimWrapperConstructor',
            paramwise_cfg=dict(bias_lr_mult=2.0),
            generator=dict(optimizer=dict(type='Adam', lr=1e-4))), ValueError,
         'optim_wrapper.paramwise_cfg'),
        (dict(constructor='MultipleOptimWrapperConstructor'), TypeError, 'sub-module names'),
    ],
    ids=['unknown-module', 'no-optimizer', 'top-level-paramwise', 'empty'])
def test_bad_config_names_the_key(scope, cfg, error, fragment):
    with pytest.raises(error, match=fragment):
        build_optim_wrapper(ToyGAN(), cfg)


def test_shared_parameters_are_refused(scope):
    model = ToyGAN()
    model.critic = model.discriminator  # the same module under two names
    cfg = dict(GAN_CFG, critic=dict(optimizer=dict(type='SGD', lr=0.1)))
    with pytest.raises(ValueError, match="'discriminator' and 'critic' share parameters"):
        build_optim_wrapper(model, cfg)


def test_parameters_without_an_optimizer_are_reported(scope, monkeypatch):
    logged = []
    monkeypatch.setattr(constructor_module, 'print_log', lambda msg, **kw: logged.append(msg))
    model = ToyGAN()
    model.extra = nn.Linear(2, 2)
    model.frozen = nn.Linear(2, 2).requires_grad_(False)
    MultipleOptimWrapperConstructor({k: v for k, v in GAN_CFG.items() if k != 'constructor'})(model)
    assert len(logged) == 1
    assert '2 trainable parameter(s)' in logged[0] and 'extra.weight' in logged[0]
    assert 'frozen' not in logged[0]
