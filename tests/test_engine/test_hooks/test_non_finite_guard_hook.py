"""NonFiniteGuardHook: hand-made NaN / Inf losses and gradients never reach the weights; 'stop'
ends the run in one line naming the iteration and the term, 'skip' withholds the update."""
import itertools
import math
import os
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from torch import nn

from partseg.engine import safe_load
from partseg.engine.hooks import NonFiniteGuardHook
from partseg.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
NAN = float('nan')
_names = itertools.count()


def poison(kind: str, weight: torch.Tensor) -> torch.Tensor:
    """A hand-made bad loss term on ``weight``.

    'nan': nan * w (the loss and its gradient are NaN); 'inf': inf * w; 'detached': a NaN constant
    (the loss is NaN, the gradient finite); 'grad': sqrt(0 * w) = 0, a finite loss whose gradient
    0.5 / sqrt(0) * 0 is NaN; 'huge': 1e30 |w| (finite, beyond the overflow limit).
    """
    if kind == 'nan':
        return NAN * weight.sum()
    if kind == 'inf':
        return math.inf * weight.sum()
    if kind == 'detached':
        return torch.tensor(NAN)
    if kind == 'grad':
        return torch.sqrt(0 * weight.sum())
    if kind == 'huge':  # a loss weight of 1e30: finite, but squared it overflows
        return 1e30 * weight.abs().sum()
    raise ValueError(kind)


class PoisonedRegressor(BaseModel):
    """y = w x + b fitted to 0 (``loss_fit``), plus ``loss_bad``: 0 except at the (1-based)
    iterations in ``poison_at``, where it is ``poison(kind, w)``."""

    def __init__(self, poison_at=(), kind='nan', nan_buffer=False) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 1)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[0.5, -0.25]]))
            self.fc.bias.fill_(0.1)
        self.register_buffer('running', torch.zeros(()))
        self.poison_at, self.kind, self.nan_buffer = set(poison_at), kind, nan_buffer
        self.calls = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        self.calls += 1
        out = self.fc(torch.stack(inputs))  # B x (2,) -> (B, 1)
        if mode != 'loss':
            return out
        bad = self.calls in self.poison_at
        if bad and self.nan_buffer:
            self.running.fill_(NAN)  # as BatchNorm statistics of a NaN batch would be
        zero = 0 * self.fc.weight.sum()
        return dict(
            loss_fit=out.pow(2).mean(), loss_bad=poison(self.kind, self.fc.weight) if bad else zero)


class ToyGAN(BaseModel):
    """Two sub-networks with their own optimizer wrappers, stepped one after the other in
    ``train_step`` (GANSeg's pattern); ``poisoned`` names the one whose loss is NaN at the
    iterations ``poison_at``."""

    def __init__(self, poison_at=(), poisoned='generator') -> None:
        super().__init__()
        self.generator = nn.Linear(2, 1)
        self.discriminator = nn.Linear(2, 1)
        for net in (self.generator, self.discriminator):
            nn.init.constant_(net.weight, 0.5)
            nn.init.constant_(net.bias, 0.1)
        self.poison_at, self.poisoned = set(poison_at), poisoned
        self.calls = 0

    def train_step(self, data, optim_wrapper):
        self.calls += 1
        x = torch.stack(data['inputs'])  # (B, 2)
        log_vars = {}
        for name in ('discriminator', 'generator'):
            net = getattr(self, name)
            loss = net(x).pow(2).mean()
            if self.calls in self.poison_at and name == self.poisoned:
                loss = loss + poison('nan', net.weight)
            optim_wrapper[name].update_params(loss)
            log_vars[f'loss_{name[0]}'] = loss.detach()
        return log_vars

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.generator(torch.stack(inputs))


class ToyVectors(torch.utils.data.Dataset):

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> dict:
        return dict(inputs=torch.tensor([float(index), -index / 2.0]))


class Recorder(Hook):
    """Hook recording the parameters after every iteration (``weights[i]`` after iteration i)."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.weights = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.weights[runner.iter + 1] = {
            k: v.detach().clone()
            for k, v in runner.model.named_parameters()
        }


def make_runner(work_dir, model, guard, max_iters=5, optim_wrapper=None, recorder=None):
    hooks = [guard] + ([recorder] if recorder is not None else [])
    return Runner(
        model=model,
        work_dir=str(work_dir),
        experiment_name=f'guard_{next(_names)}',
        train_dataloader=dict(
            dataset=ToyVectors(),
            sampler=dict(type='InfiniteSampler', shuffle=False),
            batch_size=2,
            num_workers=0,
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        optim_wrapper=optim_wrapper or dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook',
                by_epoch=False,
                interval=2,
                backend_args=dict(backend='local_atomic')),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=hooks,
        log_processor=dict(by_epoch=False),
        log_level='WARNING',
        default_scope='partseg',
        randomness=dict(seed=0))


def checkpoints(work_dir):
    return sorted(n for n in os.listdir(work_dir) if n.endswith('.pth'))


@pytest.mark.parametrize('kind, fragments', [
    ('nan', ['loss=nan, loss_bad=nan;', 'update withheld: model (the model loss is nan)']),
    ('inf', ['loss_bad=inf']),
    ('detached', ['loss_bad=nan', 'the model loss is nan']),
    ('grad', ['iteration 3; update withheld: model (the gradient of fc.weight is nan)']),
    ('huge', [
        'iteration 3: loss=6.02e+29, loss_bad=6.02e+29;', 'update withheld: model (the model '
        'loss is 6.02e+29 (beyond the overflow limit 1.84e+19))'
    ]),
])
def test_stop_names_iteration_and_term_and_keeps_the_last_good_checkpoint(
        kind, fragments, tmp_path):
    model = PoisonedRegressor(poison_at={3}, kind=kind)
    runner = make_runner(tmp_path, model, NonFiniteGuardHook())
    with pytest.raises(FloatingPointError) as error:
        runner.train()
    message = str(error.value)
    assert '\n' not in message
    assert 'non-finite or overflowing training values at iteration 3' in message
    for fragment in fragments:
        assert fragment in message, message
    assert 'loss_fit' not in message  # finite terms are not named
    assert f'the last checkpoint, {tmp_path / "iter_2.pth"}, is the last good one (checked)' in (
        message)
    # nothing of iteration 3 saved; the weights in memory are still those of iteration 2
    assert checkpoints(tmp_path) == ['iter_2.pth']
    saved = safe_load(tmp_path / 'iter_2.pth')
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved['state_dict'][key]), key
    momentum = runner.optim_wrapper.optimizer.state[model.fc.weight]['momentum_buffer']
    assert torch.equal(momentum, saved['optimizer']['state'][0]['momentum_buffer'])


def test_exploding_weights_stop_before_the_overflowing_update(tmp_path):
    """SGD with lr=1e6 multiplies the weights by ~1e7 per step: the loss of iteration 3 is beyond
    the overflow limit, its update is withheld, and the checkpoint of iteration 2 is checked
    before the message calls it good."""
    runner = make_runner(
        tmp_path,
        PoisonedRegressor(),
        NonFiniteGuardHook(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=1e6)))
    with pytest.raises(FloatingPointError) as error:
        runner.train()
    message = str(error.value)
    assert 'at iteration 3: loss=' in message and '\n' not in message
    assert 'update withheld: model (the model loss is' in message
    assert f'{tmp_path / "iter_2.pth"}, is the last good one (checked)' in message
    assert checkpoints(tmp_path) == ['iter_2.pth']


@pytest.mark.parametrize('action', ['stop', 'skip'])
def test_an_update_that_overflows_the_weights_always_stops(action, tmp_path):
    """lr=1e30 with gradients of about 1: the first update writes weights of about 1e30, which
    cannot be undone, so even action='skip' stops, naming the weight."""
    runner = make_runner(
        tmp_path,
        PoisonedRegressor(),
        NonFiniteGuardHook(action=action),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=1e30)))
    with pytest.raises(FloatingPointError) as error:
        runner.train()
    message = str(error.value)
    assert message.startswith('non-finite or overflowing training values at iteration 1')
    assert 'after the update of model (fc.weight is' in message
    assert 'beyond the overflow limit 1.84e+19' in message and 'no checkpoint was written yet' in (
        message)


def test_a_bad_last_checkpoint_is_not_called_good(tmp_path):
    runner = make_runner(tmp_path, PoisonedRegressor(), NonFiniteGuardHook(), max_iters=2)
    runner.train()
    saved = safe_load(tmp_path / 'iter_2.pth')
    saved['optimizer']['state'][0]['momentum_buffer'].fill_(math.inf)
    torch.save(saved, tmp_path / 'iter_2.pth')
    verdict = NonFiniteGuardHook()._last_checkpoint_verdict(runner)
    assert verdict == (f'the last checkpoint, {tmp_path / "iter_2.pth"}, is not usable either '
                       '(optimizer.state.0.momentum_buffer is inf)')


def test_a_bad_resumed_state_stops_before_any_update(tmp_path):
    adam = dict(optimizer=dict(type='Adam', lr=0.01))
    make_runner(
        tmp_path / 'run',
        PoisonedRegressor(),
        NonFiniteGuardHook(),
        max_iters=2,
        optim_wrapper=adam).train()
    saved = safe_load(tmp_path / 'run' / 'iter_2.pth')
    saved['optimizer']['state'][0]['exp_avg_sq'][0, 1] = math.inf  # as a 1e30 loss weight left it
    path = tmp_path / 'bad.pth'
    torch.save(saved, path)
    runner = make_runner(
        tmp_path / 'resumed',
        PoisonedRegressor(),
        NonFiniteGuardHook(),
        max_iters=4,
        optim_wrapper=adam)
    runner._resume, runner._load_from = True, str(path)
    with pytest.raises(FloatingPointError) as error:
        runner.train()
    assert str(error.value) == (
        'the training state at iteration 2 is unusable before any update: the optimizer state '
        f'fc.weight.exp_avg_sq is inf (loaded from {path}); resume from an earlier checkpoint '
        'or start over')


def test_stop_before_any_checkpoint(tmp_path):
    runner = make_runner(tmp_path, PoisonedRegressor(poison_at={1}), NonFiniteGuardHook())
    with pytest.raises(FloatingPointError, match='iteration 1: .*no checkpoint was written yet'):
        runner.train()
    assert checkpoints(tmp_path) == []


@pytest.mark.parametrize('kind', ['nan', 'grad'])
def test_skip_withholds_exactly_that_update(kind, tmp_path):
    recorder = Recorder()
    guard = NonFiniteGuardHook(action='skip')
    runner = make_runner(
        tmp_path, PoisonedRegressor(poison_at={3}, kind=kind), guard, recorder=recorder)
    runner.train()
    assert runner.iter == 5 and guard.num_skipped == 1
    w = recorder.weights
    for key in w[2]:
        assert torch.equal(w[3][key], w[2][key]), key  # iteration 3 changed nothing
        assert not torch.equal(w[4][key], w[3][key]), key  # training went on
        assert torch.isfinite(w[5][key]).all()
    assert checkpoints(tmp_path) == ['iter_2.pth', 'iter_4.pth', 'iter_5.pth']
    # the optimizer wrapper is itself again after training
    assert 'step' not in vars(runner.optim_wrapper)
    assert not hasattr(runner.optim_wrapper, 'non_finite_guard')


def test_skip_gives_up_after_max_consecutive_skips(tmp_path):
    guard = NonFiniteGuardHook(action='skip', max_consecutive_skips=3)
    runner = make_runner(tmp_path, PoisonedRegressor(poison_at={2, 3, 4, 5}), guard, max_iters=6)
    with pytest.raises(FloatingPointError, match='iteration 4: .*3 iterations in a row'):
        runner.train()
    assert guard.num_skipped == 3  # iterations 2, 3 and 4 withheld


def test_skip_cannot_undo_a_non_finite_buffer(tmp_path):
    runner = make_runner(tmp_path, PoisonedRegressor(poison_at={3}, nan_buffer=True),
                         NonFiniteGuardHook(action='skip'))
    with pytest.raises(
            FloatingPointError, match='iteration 3: .*the buffer running is nan, which skipping'):
        runner.train()


@pytest.mark.parametrize('action', ['stop', 'skip'])
def test_two_optimizers_only_the_poisoned_update_is_withheld(action, tmp_path):
    recorder = Recorder()
    optim_wrapper = dict(
        constructor='MultipleOptimWrapperConstructor',
        generator=dict(optimizer=dict(type='SGD', lr=0.01)),
        discriminator=dict(optimizer=dict(type='SGD', lr=0.01)))
    model = ToyGAN(poison_at={3}, poisoned='generator')
    runner = make_runner(
        tmp_path,
        model,
        NonFiniteGuardHook(action=action),
        max_iters=4,
        optim_wrapper=optim_wrapper,
        recorder=recorder)
    if action == 'stop':
        with pytest.raises(FloatingPointError) as error:
            runner.train()
        message = str(error.value)
        expected = 'iteration 3: loss_g=nan; update withheld: generator (the generator loss is nan)'
        assert expected in message, message
        assert 'discriminator (' not in message
        # D took its step of iteration 3, G did not
        before = recorder.weights[2]
        assert not torch.equal(model.discriminator.weight, before['discriminator.weight'])
        assert torch.equal(model.generator.weight, before['generator.weight'])
        return
    runner.train()
    w = recorder.weights
    assert torch.equal(w[3]['generator.weight'], w[2]['generator.weight'])
    assert not torch.equal(w[3]['discriminator.weight'], w[2]['discriminator.weight'])
    assert not torch.equal(w[4]['generator.weight'], w[3]['generator.weight'])


@pytest.fixture
def partseg_scope():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with DefaultScope.overwrite_default_scope('partseg'):
        yield
    torch.set_num_threads(threads)


def test_ganseg_leaves_the_decision_to_the_guard(partseg_scope):
    """GANSeg's own check (which would raise) defers to the hook: with action='skip' a NaN
    gradient penalty withholds the discriminator's update and the generator still learns."""
    cfg = Config.fromfile(osp.join(ROOT, 'tests', 'data', 'configs', 'ganseg_tiny.py'))
    model = MODELS.build(cfg.model)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    runner = SimpleNamespace(
        model=model,
        optim_wrapper=optim_wrapper,
        iter=0,
        message_hub=MessageHub.get_instance('guard_ganseg'))
    guard = NonFiniteGuardHook(action='skip')
    guard.before_train(runner)
    model.gp_loss.loss_weight = NAN  # loss_gp = nan on D step 0 (gp_interval 2)
    d0 = [p.detach().clone() for p in model.discriminator.parameters()]
    g0 = [p.detach().clone() for p in model.generator.parameters()]
    torch.manual_seed(0)
    batch = dict(inputs=[torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8) for _ in range(2)])
    outputs = model.train_step(batch, optim_wrapper)
    assert math.isnan(outputs['loss_gp'].item())
    assert all(torch.equal(p, q) for p, q in zip(model.discriminator.parameters(), d0))
    assert any(not torch.equal(p, q) for p, q in zip(model.generator.parameters(), g0))
    guard.after_train_iter(runner, 0, batch, outputs)
    assert guard.num_skipped == 1
    # action='stop' turns the same iteration into one line naming it and the term
    stop = NonFiniteGuardHook()
    with pytest.raises(
            FloatingPointError,
            match=r'iteration 1: loss_gp=nan; update withheld: '
            r'discriminator \(the discriminator loss is nan\)'):
        stop._events.append(('discriminator', 'the discriminator loss is nan', False))
        stop.after_train_iter(runner, 0, batch, outputs)


@pytest.mark.parametrize('kwargs, fragment', [
    (dict(action='ignore'), "action must be one of ('stop', 'skip'), got 'ignore'"),
    (dict(max_consecutive_skips=0), 'max_consecutive_skips must be a positive integer'),
])
def test_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError) as error:
        NonFiniteGuardHook(**kwargs)
    assert fragment in str(error.value)


def test_every_config_gets_the_guard():
    for name in ('dispart/synthetic_k4.py', 'ganseg/synthetic_k4.py',
                 'ganseg/synthetic_k4_stage2.py'):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
        assert cfg.default_hooks.non_finite == dict(type='NonFiniteGuardHook', action='stop')
