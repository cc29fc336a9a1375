"""RandomStateHook: a resumed run draws the same random numbers as an uninterrupted one."""
import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from partseg.engine import safe_load
from partseg.engine.hooks import RandomStateHook


def final_weights(runner) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in runner.model.parameters()])


@pytest.mark.parametrize('with_hook', [True, False], ids=['hook', 'no-hook'])
def test_resumed_run_matches_an_uninterrupted_one_bit_for_bit(toy_runner, tmp_path, with_hook):
    hooks = [dict(type='RandomStateHook')] if with_hook else None
    uninterrupted = toy_runner(tmp_path / 'six', 6, custom_hooks=hooks, noisy=True)
    uninterrupted.train()
    toy_runner(tmp_path / 'split', 4, custom_hooks=hooks, noisy=True).train()
    resumed = toy_runner(tmp_path / 'split', 6, resume=True, custom_hooks=hooks, noisy=True)
    resumed.train()
    same = torch.equal(final_weights(resumed), final_weights(uninterrupted))
    # without the hook MMEngine re-seeds on resume and replays the noise of iterations 1 and 2
    assert same is with_hook


def test_checkpoint_holds_the_states_and_loads_weights_only(toy_runner, tmp_path):
    toy_runner(tmp_path, 2, custom_hooks=[dict(type='RandomStateHook')]).train()
    state = safe_load(tmp_path / 'iter_2.pth')['random_state']
    assert {'python', 'numpy', 'torch'} <= set(state)
    assert state['numpy'][0] == 'MT19937' and state['torch'].dtype == torch.uint8
    assert state['python'][0] == random.getstate()[0]


def test_restores_only_at_the_checkpoint_iteration_and_once():
    torch.manual_seed(1)
    np.random.seed(1)
    saved = RandomStateHook._capture()
    after_saved = (torch.rand(3), np.random.rand(3))
    torch.manual_seed(2)
    np.random.seed(2)
    seeded = (torch.rand(3), np.random.rand(3))

    def draws_after_hook(hook, runner, batch_idx=0):
        torch.manual_seed(2)
        np.random.seed(2)
        hook.before_train_iter(runner, batch_idx)
        return torch.rand(3), np.random.rand(3)

    checkpoint = {'meta': {'iter': 4}, 'random_state': saved}
    runner = SimpleNamespace(iter=0, _randomness_cfg={})
    # load_from to fine-tune: training starts at 0, the generators stay as seeded
    hook = RandomStateHook()
    hook.after_load_checkpoint(runner, checkpoint)
    torch_draw, np_draw = draws_after_hook(hook, runner)
    assert torch.equal(torch_draw, seeded[0]) and np.array_equal(np_draw, seeded[1])
    # resume at iteration 4: restored before that iteration's step, and only then
    runner.iter = 4
    hook.after_load_checkpoint(runner, checkpoint)
    torch_draw, np_draw = draws_after_hook(hook, runner)
    assert torch.equal(torch_draw, after_saved[0]) and np.array_equal(np_draw, after_saved[1])
    torch_draw, _ = draws_after_hook(hook, runner, 1)
    assert torch.equal(torch_draw, seeded[0])
