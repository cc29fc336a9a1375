"""Toy models, dataset and Runner factory shared by the engine tests (CPU, milliseconds each)."""
import itertools
import random
from typing import Optional

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.visualization import Visualizer
from torch import nn

import partseg.engine  # noqa: F401  (installs safe checkpointing, registers hooks)
from partseg.engine import PartsegRunner
from partseg.visualization import PartVisualizer

_experiment_ids = itertools.count()


@pytest.fixture(autouse=True)
def reset_mmengine_singletons():
    """Forget every DefaultScope, MessageHub and Visualizer instance before and after each test."""
    managers = (DefaultScope, MessageHub, Visualizer, PartVisualizer)
    for manager in managers:
        manager._instance_dict.clear()
    yield
    for manager in managers:
        manager._instance_dict.clear()


class ToyRegressor(BaseModel):
    """y = w x + b fitted to y = 0; the loss of a batch is the mean of y^2."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 1)
        with torch.no_grad():  # the same start for every instance, whatever the global RNG
            self.fc.weight.copy_(torch.tensor([[0.5, -0.25]]))
            self.fc.bias.fill_(0.1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.fc(torch.stack(inputs))  # B x (2,) -> (B, 1)
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return out


class NoisyRegressor(ToyRegressor):
    """ToyRegressor whose inputs get noise from torch's, numpy's and Python's global generators."""

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs)  # B x (2,) -> (B, 2)
        noise = torch.randn_like(x) + float(np.random.rand()) + random.random()
        return super().forward(list(x + noise), data_samples, mode)


class ToyVectors(torch.utils.data.Dataset):
    """Eight 2-vectors (i, -i / 2)."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> dict:
        return dict(inputs=torch.tensor([float(index), -index / 2.0]))


def make_toy_runner(work_dir,
                    max_iters: int,
                    resume=False,
                    checkpoint_interval: int = 2,
                    custom_hooks=None,
                    noisy: bool = False,
                    optimizer: Optional[dict] = None,
                    step_schedule: bool = True,
                    max_keep_ckpts: int = -1) -> PartsegRunner:
    """A Runner training :class:`ToyRegressor` with SGD + momentum and a step LR schedule.

    ``resume``: False, True (the latest checkpoint of ``work_dir``) or a checkpoint path;
    ``noisy``: train :class:`NoisyRegressor` instead; ``optimizer``: another optimizer config;
    ``step_schedule=False``: no LR schedule.
    """
    return PartsegRunner(
        model=NoisyRegressor() if noisy else ToyRegressor(),
        work_dir=str(work_dir),
        experiment_name=f'toy_{next(_experiment_ids)}',
        train_dataloader=dict(
            dataset=ToyVectors(),
            sampler=dict(type='InfiniteSampler', shuffle=False),
            batch_size=2,
            num_workers=0,
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        optim_wrapper=dict(optimizer=optimizer or dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', milestones=[3], by_epoch=False)
        if step_schedule else None,
        default_hooks=dict(
            checkpoint=dict(
                type='AtomicCheckpointHook',
                by_epoch=False,
                interval=checkpoint_interval,
                max_keep_ckpts=max_keep_ckpts,
                backend_args=dict(backend='local_atomic')),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=custom_hooks,
        log_processor=dict(by_epoch=False),
        log_level='WARNING',
        resume=bool(resume),
        load_from=None if isinstance(resume, bool) else str(resume),
        default_scope='partseg',
        randomness=dict(seed=0))


@pytest.fixture(scope='session')
def toy_runner():
    return make_toy_runner
