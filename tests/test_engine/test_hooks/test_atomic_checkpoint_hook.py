"""AtomicCheckpointHook: the last_checkpoint record replaced atomically, stale temporary files of
killed saves removed at the next start, a failed save loses no older checkpoint."""
import errno
import os

import pytest

from partseg.engine.hooks import AtomicCheckpointHook
from partseg.engine.hooks.atomic_checkpoint_hook import remove_stale_temporaries


def test_last_checkpoint_is_replaced_never_rewritten_in_place(toy_runner, tmp_path):
    toy_runner(tmp_path, max_iters=2).train()
    record = tmp_path / 'last_checkpoint'
    first = os.stat(record).st_ino
    assert record.read_text() == str(tmp_path / 'iter_2.pth')
    toy_runner(tmp_path, max_iters=4, resume=True).train()
    # a new file renamed over the record (MMEngine's open(.., 'w') truncates the same inode)
    assert os.stat(record).st_ino != first
    assert record.read_text() == str(tmp_path / 'iter_4.pth')
    assert not [name for name in os.listdir(tmp_path) if name.endswith('.tmp')]


def test_stale_temporary_files_are_removed_at_the_next_start(toy_runner, tmp_path):
    toy_runner(tmp_path, max_iters=2).train()
    stale = ['.iter_4.pth.k2x_9a.tmp', '.last_checkpoint.abc123.tmp', '.epoch_3.pth.q.tmp']
    kept = ['.notes.abc.tmp', 'iter_4.pth.tmp', '.iter_x.pth.a.tmp', 'keep.txt']
    for name in stale + kept:
        (tmp_path / name).write_bytes(b'partial')
    runner = toy_runner(tmp_path, max_iters=4, resume=True)
    logged = []
    runner.logger.warning = logged.append
    runner.train()
    assert not any((tmp_path / name).exists() for name in stale)
    assert all((tmp_path / name).exists() for name in kept)
    message = next(line for line in logged if 'temporary file' in line)
    assert message.startswith('removed 3 temporary file(s) of interrupted checkpoint saves')
    assert all(name in message for name in stale)


def test_remove_stale_temporaries_ignores_remote_and_missing_folders(tmp_path):
    assert remove_stale_temporaries('s3://bucket/run') == []
    assert remove_stale_temporaries(str(tmp_path / 'missing')) == []


def test_a_failed_save_keeps_the_oldest_checkpoint(toy_runner, tmp_path, monkeypatch):
    runner = toy_runner(tmp_path, max_iters=6, max_keep_ckpts=2)
    save = runner.save_checkpoint

    def save_then_fill_the_disk(out_dir, filename, *args, **kwargs):
        if filename == 'iter_6.pth':
            raise OSError(errno.ENOSPC, f'cannot write {out_dir}/{filename}: No space left')
        return save(out_dir, filename, *args, **kwargs)

    monkeypatch.setattr(runner, 'save_checkpoint', save_then_fill_the_disk)
    with pytest.raises(OSError, match='iter_6.pth'):
        runner.train()
    # MMEngine's hook deletes iter_2 before it tries iter_6; both kept ones stay here
    assert sorted(n for n in os.listdir(tmp_path)
                  if n.endswith('.pth')) == ['iter_2.pth', 'iter_4.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_4.pth')


def test_rotation_keeps_max_keep_ckpts(toy_runner, tmp_path):
    toy_runner(tmp_path, max_iters=8, max_keep_ckpts=2).train()
    assert sorted(n for n in os.listdir(tmp_path)
                  if n.endswith('.pth')) == ['iter_6.pth', 'iter_8.pth']


def test_atomic_backend_by_default():
    assert AtomicCheckpointHook(interval=1).backend_args == dict(backend='local_atomic')
    other = dict(backend='local')
    assert AtomicCheckpointHook(interval=1, backend_args=other).backend_args == other


def test_a_temporary_file_still_being_written_is_kept(tmp_path):
    import fcntl
    live = tmp_path / '.iter_6.pth.live01.tmp'  # another run, saving right now
    dead = tmp_path / '.iter_4.pth.dead01.tmp'  # left by a killed run: nobody holds its lock
    live.write_bytes(b'partial')
    dead.write_bytes(b'partial')
    with open(live, 'rb+') as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)
        assert remove_stale_temporaries(str(tmp_path)) == [str(dead)]
    assert live.exists() and not dead.exists()


def test_resuming_another_folders_run_deletes_none_of_this_folders_files(toy_runner, tmp_path):
    other = tmp_path / 'other'
    toy_runner(other, max_iters=4, max_keep_ckpts=3).train()  # records checkpoints 2 and 4
    before = sorted(os.listdir(other))
    here = tmp_path / 'here'
    here.mkdir()
    (here / 'iter_2.pth').write_bytes(b'a checkpoint of the run of this folder')
    runner = toy_runner(here, max_iters=6, resume=str(other / 'iter_4.pth'), max_keep_ckpts=1)
    runner.train()
    # MMEngine would delete here/iter_2.pth: the resumed run recorded a checkpoint 2 (elsewhere)
    assert (here / 'iter_2.pth').read_bytes() == b'a checkpoint of the run of this folder'
    assert sorted(n for n in os.listdir(here) if n.endswith('.pth')) == ['iter_2.pth', 'iter_6.pth']
    assert sorted(os.listdir(other)) == before  # nothing deleted or written there


def test_resuming_in_the_same_folder_keeps_rotating(toy_runner, tmp_path):
    toy_runner(tmp_path, max_iters=4, max_keep_ckpts=2).train()
    toy_runner(tmp_path, max_iters=6, resume=True, max_keep_ckpts=2).train()
    assert sorted(n for n in os.listdir(tmp_path)
                  if n.endswith('.pth')) == ['iter_4.pth', 'iter_6.pth']
