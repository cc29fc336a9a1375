"""AtomicCheckpointHook: checkpoints and their ``last_checkpoint`` record written atomically."""
import os
import os.path as osp
import re
from typing import List

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from partseg.registry import HOOKS
from ..atomic_local_backend import AtomicLocalBackend, is_being_written

__all__ = ['AtomicCheckpointHook']

# what AtomicLocalBackend leaves when a save is killed: .<name>.<random>.tmp
_STALE_TEMPORARY = re.compile(r'^\.((?:iter|epoch)_\d+\.pth|last_checkpoint)\.[A-Za-z0-9_]+\.tmp$')


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """MMEngine's :class:`~mmengine.hooks.CheckpointHook` that never leaves a torn file.

    - Checkpoints go through the ``local_atomic`` file backend (temporary file, fsync, rename;
      :class:`~partseg.engine.atomic_local_backend.AtomicLocalBackend`) unless ``backend_args``
      names another backend.
    - The ``last_checkpoint`` record, which MMEngine writes with a plain ``open(.., 'w')`` (empty
      after a kill or on a full disk), is written the same atomic way; a failed write raises an
      :class:`OSError` naming the file.
    - Before training, temporary files of killed saves in the checkpoint folder
      (``.iter_N.pth.*.tmp``, ``.last_checkpoint.*.tmp``) are removed, and the log names them.
    - ``max_keep_ckpts`` deletes only checkpoints of this run or of the run it resumed in the
      same folder, never the files of a run it did not resume; and a new checkpoint is complete
      before the oldest one kept is deleted.

    Arguments as :class:`~mmengine.hooks.CheckpointHook`.
    """

    def __init__(self, *args, backend_args=None, **kwargs) -> None:
        if backend_args is None and kwargs.get('file_client_args') is None:
            backend_args = dict(backend='local_atomic')
        super().__init__(*args, backend_args=backend_args, **kwargs)

    def before_train(self, runner) -> None:
        self._forget_checkpoints_of_another_folder(runner)
        super().before_train(runner)
        if is_main_process():
            removed = remove_stale_temporaries(str(self.out_dir))
            removed += remove_stale_temporaries(str(runner.work_dir)) if osp.abspath(
                str(runner.work_dir)) != osp.abspath(str(self.out_dir)) else []
            if removed:
                runner.logger.warning(f'removed {len(removed)} temporary file(s) of interrupted '
                                      f'checkpoint saves: {", ".join(removed)}')

    def _forget_checkpoints_of_another_folder(self, runner) -> None:
        """Rotate (``max_keep_ckpts``) only the checkpoints of the run that is continued here.

        MMEngine deletes the oldest of the resumed run's recorded checkpoints by their names in
        *this* run's folder; when the run resumed from a checkpoint in another folder (or did not
        resume), those names are files of another run, so the record is dropped.
        """
        hub = runner.message_hub
        if 'keep_ckpt_ids' not in hub.runtime_info:
            return
        out_dir = str(self.out_dir or runner.work_dir)
        if out_dir != str(runner.work_dir):
            out_dir = osp.join(out_dir, osp.basename(str(runner.work_dir).rstrip(osp.sep)))
        resumed = getattr(runner, 'resumed_from', None)
        if resumed is None or '://' in out_dir or osp.dirname(
                osp.abspath(resumed)) != osp.abspath(out_dir):
            hub.runtime_info.pop('keep_ckpt_ids')

    def _save_checkpoint_with_step(self, runner, step, meta):
        """Save ``step``'s checkpoint, record it atomically, then drop the oldest one kept.

        MMEngine's hook removes the oldest checkpoint before saving the new one, so a save that
        fails (disk full) leaves one checkpoint fewer; here the new one is complete first.
        """
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        dropped = None
        if self.max_keep_ckpts > 0 and (not self.keep_ckpt_ids or self.keep_ckpt_ids[-1] != step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                dropped = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        AtomicLocalBackend().put_text(
            str(self.last_ckpt), osp.join(runner.work_dir, 'last_checkpoint'))
        if dropped is not None:
            old = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(dropped))
            if self.file_backend.isfile(old):
                self.file_backend.remove(old)
            elif self.file_backend.isdir(old):  # checkpoints saved by DeepSpeed are folders
                self.file_backend.rmtree(old)


def remove_stale_temporaries(directory: str) -> List[str]:
    """Remove the temporary files killed atomic saves left in ``directory``; their paths.

    A temporary file another live run is still writing (it holds its lock) is left alone.
    """
    if '://' in directory or not osp.isdir(directory):
        return []
    removed = []
    for name in sorted(os.listdir(directory)):
        path = osp.join(directory, name)
        if _STALE_TEMPORARY.match(name) and not is_being_written(path):
            try:
                os.remove(path)
            except FileNotFoundError:
                continue
            removed.append(path)
    return removed
