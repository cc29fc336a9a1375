"""LossWeightScheduleHook: a loss's weight as a function of the training iteration."""
import math
from typing import Dict, List, Sequence

from mmengine.hooks import Hook

from partseg.registry import HOOKS
from partseg.utils.model_wrapper import unwrap

__all__ = ['LossWeightScheduleHook']

_SHAPES = ('linear', 'cosine')


def scheduled_weight(schedule: Dict, iteration: int) -> float:
    """Weight at ``iteration``: ``start`` until ``begin``, ``end`` from ``end_iter``, between them
    a linear or half-cosine ramp from ``start`` to ``end``."""
    begin, finish = schedule['begin'], schedule['end_iter']
    if iteration <= begin:
        return schedule['start']
    if iteration >= finish:
        return schedule['end']
    t = (iteration - begin) / (finish - begin)
    if schedule['shape'] == 'cosine':
        t = 0.5 * (1.0 - math.cos(math.pi * t))
    return schedule['start'] + t * (schedule['end'] - schedule['start'])


@HOOKS.register_module()
class LossWeightScheduleHook(Hook):
    """Sets ``model.<loss>.loss_weight`` before every training iteration from a schedule.

    Each schedule is ``dict(loss='background_loss', start=1.0, end=0.05, begin=300,
    end_iter=900, shape='linear')``: the attribute ``loss`` of the model (a loss module with a
    ``loss_weight``) weighs ``start`` up to iteration ``begin``, then ramps to ``end`` at
    ``end_iter`` and stays there. The weight is a pure function of the iteration, so a resumed run
    continues the schedule where it stopped. The current weight is logged as
    ``weight_<loss>``.

    Args:
        schedules: the schedules, one per loss.
    """

    priority = 'NORMAL'

    def __init__(self, schedules: Sequence[Dict]) -> None:
        if not schedules:
            raise ValueError('LossWeightScheduleHook: schedules must name at least one loss')
        self.schedules: List[Dict] = []
        for i, schedule in enumerate(schedules):
            schedule = dict(schedule)
            schedule.setdefault('shape', 'linear')
            missing = {'loss', 'start', 'end', 'begin', 'end_iter'} - set(schedule)
            if missing:
                raise KeyError(f'LossWeightScheduleHook: schedules[{i}] lacks '
                               f'{", ".join(sorted(missing))}')
            unknown = set(schedule) - {'loss', 'start', 'end', 'begin', 'end_iter', 'shape'}
            if unknown:
                raise KeyError(f'LossWeightScheduleHook: schedules[{i}] has unknown key(s) '
                               f'{", ".join(sorted(unknown))}')
            if schedule['shape'] not in _SHAPES:
                raise ValueError(f'LossWeightScheduleHook: schedules[{i}].shape must be one of '
                                 f'{_SHAPES}, got {schedule["shape"]!r}')
            if not 0 <= schedule['begin'] < schedule['end_iter']:
                raise ValueError(f'LossWeightScheduleHook: schedules[{i}] needs 0 <= begin < '
                                 f'end_iter, got begin={schedule["begin"]}, '
                                 f'end_iter={schedule["end_iter"]}')
            self.schedules.append(schedule)

    def before_train(self, runner) -> None:
        model = unwrap(runner.model)
        for i, schedule in enumerate(self.schedules):
            loss = getattr(model, schedule['loss'], None)
            if loss is None or not hasattr(loss, 'loss_weight'):
                raise KeyError(f'LossWeightScheduleHook: schedules[{i}].loss: the model '
                               f'({type(model).__name__}) has no loss module '
                               f'{schedule["loss"]!r} with a loss_weight')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = unwrap(runner.model)
        for schedule in self.schedules:
            weight = scheduled_weight(schedule, runner.iter)
            getattr(model, schedule['loss']).loss_weight = weight
            runner.message_hub.update_scalar(f'train/weight_{schedule["loss"]}', weight)
