"""AutocastOptimWrapper: the forward under torch.autocast in its optim_context, fp32 weights,
no loss scaler; built from a config; use_mixed_precision chooses it off the GPU."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

import partseg.engine  # noqa: F401  (registers the wrapper)
from partseg.engine.optimizers import AutocastOptimWrapper
from partseg.utils.cli import UserError, use_mixed_precision


def _wrapper(model, **kwargs):
    cfg = dict(type='AutocastOptimWrapper', optimizer=dict(type='SGD', lr=0.1), **kwargs)
    with DefaultScope.overwrite_default_scope('partseg'):
        return build_optim_wrapper(model, ConfigDict(cfg))


def test_forward_runs_in_bf16_and_the_update_in_fp32():
    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    wrapper = _wrapper(model)
    assert isinstance(wrapper, AutocastOptimWrapper)
    weight = model.weight.detach().clone()
    x = torch.randn(5, 4)
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu')
        assert torch.get_autocast_dtype('cpu') == torch.bfloat16
        out = model(x)
    assert out.dtype == torch.bfloat16 and not torch.is_autocast_enabled('cpu')
    loss = out.float().pow(2).mean()
    wrapper.update_params(loss)
    assert model.weight.dtype == torch.float32 and model.weight.grad is None  # zeroed
    # SGD step: w - 0.1 * grad, the gradient of the bf16 forward (2 / 15 out^T x, bf16 rounding)
    expected = weight - 0.1 * (2 / out.numel()) * out.float().t() @ x
    assert torch.allclose(model.weight, expected, atol=2e-2)


def test_float16_and_explicit_device_type():
    wrapper = _wrapper(nn.Linear(2, 2), dtype='float16', device_type='cpu')
    with wrapper.optim_context(nn.Linear(2, 2)):
        assert torch.get_autocast_dtype('cpu') == torch.float16


def test_bad_dtype_is_named():
    with pytest.raises(ValueError, match="dtype must be one of .*'bfloat16'.*got 'int8'"):
        _wrapper(nn.Linear(2, 2), dtype='int8')


def test_use_mixed_precision_on_cpu_switches_every_wrapper():
    single = ConfigDict(optimizer=dict(type='Adam', lr=1e-3))
    assert use_mixed_precision(single, 'cpu') == 'AutocastOptimWrapper-bfloat16'
    assert single.type == 'AutocastOptimWrapper' and single.dtype == 'bfloat16'
    per_module = ConfigDict(
        constructor='MultipleOptimWrapperConstructor',
        generator=dict(optimizer=dict(type='Adam', lr=1e-4)),
        discriminator=dict(optimizer=dict(type='Adam', lr=4e-4)))
    use_mixed_precision(per_module, 'cpu')
    assert per_module.generator.type == per_module.discriminator.type == 'AutocastOptimWrapper'
    assert 'loss_scale' not in per_module.generator  # bf16 needs no scaler
    with pytest.raises(UserError, match='--amp: optim_wrapper has no optimizer to wrap'):
        use_mixed_precision(ConfigDict(constructor='X'), 'cpu')
