"""RandomStateHook: the global random number generators travel with each checkpoint."""
import logging
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.logging import print_log

from partseg.registry import HOOKS

__all__ = ['RandomStateHook']


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Stores the state of Python's, numpy's and torch's (CPU and CUDA) global generators in every
    checkpoint and restores it when training resumes, so a resumed run draws the same noise, TPS
    warps, dropout masks, ... as an uninterrupted one.

    MMEngine only re-seeds on resume, which replays the random stream from its start. This hook
    saves ``checkpoint['random_state']`` and, when training continues from the iteration the
    checkpoint was saved at, restores it just before the first batch of that iteration is drawn
    from the data loader: MMEngine's iteration-based loop first draws (and discards) the batches
    already trained, which runs the data transforms and their random numbers when the loader has
    no workers, so the hook wraps the loop's ``dataloader_iterator`` to restore after those. In
    other loops it restores in ``before_train_epoch`` (an epoch-based loop resumes at an epoch
    start) or, at the latest, before the iteration's training step. Loading a checkpoint to
    fine-tune (``load_from`` without ``resume``) restarts at iteration 0 and leaves the generators
    as seeded.

    MMEngine writes checkpoints on rank 0 only, so the state saved is rank 0's. Under distributed
    training with one seed for all ranks (the default, ``randomness.diff_rank_seed=False``) every
    rank draws the same stream and every rank restores it; with ``diff_rank_seed=True`` only rank
    0 restores its state and the other ranks stay as seeded.

    Random numbers drawn by data transforms follow with or without loader workers (workers are
    seeded per worker by MMEngine and process the skipped batches as before). Generators a
    component owns (a ``torch.Generator`` attribute) are its own to save in ``state_dict``.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None
        self._pending_iter: Optional[int] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['random_state'] = self._capture()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('random_state')
        if state is None:
            print_log(
                'RandomStateHook: the checkpoint holds no random state; a resumed run draws '
                'different random numbers than an uninterrupted one',
                logger='current',
                level=logging.WARNING)
            return
        if get_rank() > 0 and runner._randomness_cfg.get('diff_rank_seed', False):
            return
        self._pending = state
        self._pending_iter = checkpoint.get('meta', {}).get('iter')

    def before_train_epoch(self, runner) -> None:
        if self._pending is None or runner.iter != self._pending_iter:
            return
        loop = runner.train_loop
        iterator = getattr(loop, 'dataloader_iterator', None)
        if iterator is None:  # the epoch's batches are not drawn yet
            self._restore(self._pending)
        else:  # an iteration-based loop: next, runner.iter batches are skipped
            loop.dataloader_iterator = _RestoreAfterSkipping(iterator, runner.iter, self._pending,
                                                             self._restore)
        self._pending = None

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self._pending is None:
            return
        if runner.iter == self._pending_iter:
            self._restore(self._pending)
        self._pending = None

    @staticmethod
    def _capture() -> dict:
        state = dict(
            python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        return state

    @staticmethod
    def _restore(state: dict) -> None:
        version, internal, gauss = state['python']
        random.setstate((version, tuple(internal), gauss))
        np.random.set_state(state['numpy'])
        # Runner.resume maps the checkpoint to the training device; generator states live on CPU
        torch.set_rng_state(state['torch'].cpu())
        if 'cuda' in state and torch.cuda.is_available():
            cuda_states = [s.cpu() for s in state['cuda']]
            if len(cuda_states) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(cuda_states)


class _RestoreAfterSkipping:
    """Data-loader iterator proxy that restores a random state after ``skip`` batches, just before
    the next one is drawn; otherwise it behaves as the iterator it wraps."""

    def __init__(self, iterator, skip: int, state: dict, restore) -> None:
        self._iterator = iterator
        self._skip = skip
        self._state = state
        self._restore = restore

    def __iter__(self):
        return self

    def __next__(self):
        if self._state is not None:
            if self._skip == 0:
                self._restore(self._state)
                self._state = None
            else:
                self._skip -= 1
        return next(self._iterator)

    def __getattr__(self, name: str):
        iterator = self.__dict__.get('_iterator')  # absent while unpickling or copying
        if iterator is None:
            raise AttributeError(name)
        return getattr(iterator, name)
