"""Kill a training run with SIGKILL, resume it with ``tools/train.py --resume``: the final
checkpoint is bit-identical to an uninterrupted run's (weights, buffers, every optimizer state,
EMA, penalty counters, random state) — DisPart, GANSeg stage 1 and GANSeg stage 2 (issue 6).

Each run is ``tools/train.py`` executed in a child process forked from this one (the imports are
paid once); the killed run gets :class:`KillAfterIterHook`, which SIGKILLs its own process after
iteration ``KILL_AT``, between the checkpoint of iteration ``CHECKPOINT`` and the next one. Every
config trains ``MAX_ITERS`` iterations with a checkpoint every ``CHECKPOINT`` and
``randomness=dict(seed=0, deterministic=True)``; validation is off (it changes no state).
"""
import multiprocessing
import os
import os.path as osp
import runpy
import signal
import sys
import traceback

import matplotlib.pyplot  # noqa: F401  (imported once here, not in every forked run)
import mmengine.config.config as mmengine_config
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

import partseg.datasets  # noqa: F401
import partseg.engine  # noqa: F401
import partseg.models  # noqa: F401
from partseg.engine import safe_load
from partseg.registry import HOOKS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = osp.join(ROOT, 'tools', 'train.py')
CONFIGS = osp.join(ROOT, 'tests', 'data', 'configs')
MAX_ITERS, CHECKPOINT, KILL_AT = 4, 2, 3
NO_VALIDATION = dict(val_dataloader=None, val_cfg=None, val_evaluator=None)


class KillAfterIterHook(Hook):
    """Test only: SIGKILL the training process after (1-based) iteration ``iteration``."""

    priority = 'LOWEST'  # after the checkpoint hook

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)


def _train_in_child(argv, log_path) -> None:
    """Body of a forked child: ``python tools/train.py ARGV`` with output to ``log_path``."""
    log = open(log_path, 'w', buffering=1)  # line-buffered: the killed run cannot flush
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log  # not pytest's capture objects
    HOOKS.register_module(module=KillAfterIterHook, force=True)
    # Speed only: MMEngine formats the config text with yapf for the log, the dumped config and
    # every checkpoint's meta (0.5 s each); the unformatted text is the same Python.
    mmengine_config.FormatCode = lambda text, **_: (text, False)
    sys.argv = [TRAIN] + [str(a) for a in argv]
    code = 0
    try:
        runpy.run_path(TRAIN, run_name='__main__')
    except SystemExit as error:
        code = error.code if isinstance(error.code, int) else 1
    except BaseException:  # noqa: B902  (reported through the log and the exit code)
        traceback.print_exc()
        code = 3
    log.flush()
    os._exit(code)


def train(config, work_dir, *args):
    """Run tools/train.py CONFIG --work-dir WORK_DIR ARGS in a forked child; (exit code, log)."""
    os.makedirs(work_dir, exist_ok=True)
    log_path = osp.join(work_dir, 'stdout.log')
    child = multiprocessing.get_context('fork').Process(
        target=_train_in_child, args=([config, '--work-dir', work_dir, *args], log_path))
    child.start()
    child.join(timeout=300)
    if child.is_alive():
        child.kill()
        child.join()
    with open(log_path) as f:
        return child.exitcode, f.read()


def write_config(base, path, overrides, kill_at=None) -> str:
    """A config inheriting ``base`` with ``overrides``; ``kill_at`` adds the kill hook."""
    cfg = Config.fromfile(base)
    assert cfg.train_cfg.max_iters == MAX_ITERS
    assert cfg.default_hooks.checkpoint.interval == CHECKPOINT
    assert cfg.randomness.seed == 0 and cfg.randomness.deterministic is True
    lines = [f'_base_ = [{base!r}]']
    lines += [f'{key} = {value!r}' for key, value in dict(NO_VALIDATION, **overrides).items()]
    if kill_at is not None:
        hooks = [
            h.to_dict() if hasattr(h, 'to_dict') else dict(h)
            for h in cfg.get('custom_hooks') or []
        ]
        hooks.append(dict(type='KillAfterIterHook', iteration=kill_at))
        lines.append(f'custom_hooks = {hooks!r}')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return str(path)


def assert_identical(ours, theirs, where='checkpoint') -> None:
    """Recursive equality; tensors and arrays bit for bit (same dtype, shape and values)."""
    if isinstance(ours, torch.Tensor):
        assert isinstance(theirs, torch.Tensor), where
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, where
        assert torch.equal(ours, theirs), f'{where} differs'
    elif isinstance(ours, np.ndarray):
        assert np.array_equal(ours, theirs), f'{where} differs'
    elif isinstance(ours, dict):
        assert set(ours) == set(theirs), f'{where}: keys {set(ours) ^ set(theirs)} differ'
        for key in ours:
            assert_identical(ours[key], theirs[key], f'{where}[{key!r}]')
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_identical(a, b, f'{where}[{i}]')
    else:
        assert ours == theirs, f'{where}: {ours!r} != {theirs!r}'


def kill_and_resume(base, tmp, overrides=None):
    """Uninterrupted run, killed run, resumed run; returns (uninterrupted, resumed) final
    checkpoints after checking the kill and the resume happened as planned."""
    overrides = overrides or {}
    plain = write_config(base, tmp / 'plain.py', overrides)
    killable = write_config(base, tmp / 'killable.py', overrides, kill_at=KILL_AT)
    final = f'iter_{MAX_ITERS}.pth'

    code, log = train(plain, tmp / 'uninterrupted')
    assert code == 0, log[-3000:]
    code, log = train(killable, tmp / 'resumed')
    assert code == -signal.SIGKILL, log[-3000:]
    assert f'Iter(train) [{KILL_AT}/{MAX_ITERS}]' in log
    saved = sorted(n for n in os.listdir(tmp / 'resumed') if n.endswith('.pth'))
    assert saved == [f'iter_{CHECKPOINT}.pth'], saved
    code, log = train(plain, tmp / 'resumed', '--resume')
    assert code == 0, log[-3000:]
    assert f'resumed epoch: 0, iter: {CHECKPOINT}' in log, log[-3000:]
    assert f'Iter(train) [{CHECKPOINT + 1}/{MAX_ITERS}]' in log
    assert f'Iter(train) [{CHECKPOINT}/{MAX_ITERS}]' not in log

    uninterrupted = safe_load(tmp / 'uninterrupted' / final, map_location='cpu')
    resumed = safe_load(tmp / 'resumed' / final, map_location='cpu')
    assert uninterrupted['meta']['iter'] == resumed['meta']['iter'] == MAX_ITERS
    # a resume that trained nothing, or restarted from scratch, must not pass
    middle = safe_load(tmp / 'uninterrupted' / f'iter_{CHECKPOINT}.pth', map_location='cpu')
    assert any(not torch.equal(v, resumed['state_dict'][k])
               for k, v in middle['state_dict'].items() if v.is_floating_point())
    return uninterrupted, resumed


def assert_same_training_state(uninterrupted, resumed) -> None:
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'random_state'):
        assert key in uninterrupted, key
        assert_identical(uninterrupted[key], resumed[key], key)


@pytest.fixture(scope='module')
def ganseg_stage1(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('ganseg_stage1')
    # EMA on, so its copy and its step count must resume too
    uninterrupted, resumed = kill_and_resume(
        osp.join(CONFIGS, 'ganseg_tiny.py'), tmp, dict(model=dict(ema_momentum=0.5)))
    return tmp, uninterrupted, resumed


def test_dispart_resumes_bit_identically(tmp_path):
    # random flips in a loader without workers: the batches MMEngine skips on resume draw numpy
    # random numbers in this process, which must not shift the resumed run's stream
    pipeline = [
        dict(type='LoadPartImage'),
        dict(type='RandomFlipParts', prob=0.5),
        dict(type='ResizeParts', scale=(32, 32)),
        dict(type='PackPartInputs'),
    ]
    uninterrupted, resumed = kill_and_resume(
        osp.join(CONFIGS, 'dispart_tiny.py'), tmp_path,
        dict(train_dataloader=dict(num_workers=0, dataset=dict(pipeline=pipeline))))
    assert_same_training_state(uninterrupted, resumed)
    assert uninterrupted['optimizer']['state'], 'Adam moments are compared'


def test_ganseg_stage1_resumes_bit_identically(ganseg_stage1):
    _, uninterrupted, resumed = ganseg_stage1
    assert_same_training_state(uninterrupted, resumed)
    state = resumed['state_dict']
    # D and G stepped once per iteration; the EMA generator counted its updates
    assert int(state['num_d_steps']) == int(state['num_g_steps']) == MAX_ITERS
    assert int(state['generator_ema.steps']) == MAX_ITERS
    assert set(resumed['optimizer']) == {'generator', 'discriminator'}
    for name in ('generator', 'discriminator'):
        assert resumed['optimizer'][name]['state'], name


def test_ganseg_stage2_resumes_bit_identically(ganseg_stage1, tmp_path):
    stage1_dir, _, _ = ganseg_stage1
    checkpoint = str(stage1_dir / 'uninterrupted' / f'iter_{MAX_ITERS}.pth')
    # the paper configs' pairs: generated per batch, fresh for each pass (of 2 iterations here)
    pairs = dict(checkpoint=checkpoint, resample='epoch', num_samples=4, num_epochs=2)
    uninterrupted, resumed = kill_and_resume(
        osp.join(CONFIGS, 'ganseg_tiny_stage2.py'), tmp_path,
        dict(train_dataloader=dict(dataset=pairs)))
    assert_same_training_state(uninterrupted, resumed)
    assert any('decode_head' in key for key in resumed['state_dict'])
