"""LossWeightScheduleHook: hand-computed weights along the schedule; bad schedules refused."""
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub
from torch import nn

from partseg.engine.hooks import LossWeightScheduleHook
from partseg.engine.hooks.loss_weight_schedule_hook import scheduled_weight

LINEAR = dict(loss='background_loss', start=1.0, end=0.2, begin=10, end_iter=30, shape='linear')


@pytest.mark.parametrize('iteration, expected', [(0, 1.0), (10, 1.0), (15, 0.8), (20, 0.6),
                                                 (30, 0.2), (100, 0.2)])
def test_linear_ramp(iteration, expected):
    # 1.0 + (it - 10) / 20 * (0.2 - 1.0)
    assert scheduled_weight(LINEAR, iteration) == pytest.approx(expected)


def test_cosine_ramp():
    cosine = dict(LINEAR, shape='cosine')
    # t = 0.25 -> 0.5 * (1 - cos(pi / 4)) = 0.1464466; 1.0 - 0.8 * 0.1464466 = 0.8828427
    assert scheduled_weight(cosine, 15) == pytest.approx(0.8828427, abs=1e-6)
    assert scheduled_weight(cosine, 20) == pytest.approx(0.6)


class _Loss(nn.Module):

    def __init__(self):
        super().__init__()
        self.loss_weight = 1.0


def _runner(iteration):
    model = nn.Module()
    model.background_loss = _Loss()
    hub = MessageHub.get_instance('test_loss_weight_schedule_hook')
    return SimpleNamespace(model=model, iter=iteration, message_hub=hub)


def test_hook_sets_weight_and_logs_it():
    hook = LossWeightScheduleHook([LINEAR])
    runner = _runner(20)
    hook.before_train(runner)
    hook.before_train_iter(runner, batch_idx=0)
    assert runner.model.background_loss.loss_weight == pytest.approx(0.6)
    logged = runner.message_hub.get_scalar('train/weight_background_loss').current()
    assert logged == pytest.approx(0.6)


@pytest.mark.parametrize('schedule, match', [
    (dict(LINEAR, begin=30, end_iter=10), 'begin < end_iter'),
    (dict(LINEAR, shape='step'), 'shape'),
    ({
        k: v
        for k, v in LINEAR.items() if k != 'end'
    }, 'lacks end'),
    (dict(LINEAR, ends=3), 'unknown key'),
])
def test_bad_schedules_are_refused(schedule, match):
    with pytest.raises((KeyError, ValueError), match=match):
        LossWeightScheduleHook([schedule])


def test_unknown_loss_is_named():
    hook = LossWeightScheduleHook([dict(LINEAR, loss='foreground_loss')])
    with pytest.raises(KeyError, match='foreground_loss'):
        hook.before_train(_runner(0))
