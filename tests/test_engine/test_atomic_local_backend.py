"""AtomicLocalBackend: temporary file + rename, nothing half-written, errors naming the file."""
import errno
import os

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

import partseg.engine.atomic_local_backend as backend_module
from partseg.engine import AtomicLocalBackend, safe_load


def listing(directory) -> list:
    return sorted(os.listdir(directory))


def test_put_writes_the_bytes_with_ordinary_permissions(tmp_path):
    target = tmp_path / 'sub' / 'iter_2.pth'
    AtomicLocalBackend().put(b'new bytes', target)
    assert target.read_bytes() == b'new bytes'
    assert listing(target.parent) == ['iter_2.pth']  # no temporary debris
    plain = tmp_path / 'plain'
    with open(plain, 'wb') as f:
        f.write(b'x')
    assert oct(target.stat().st_mode & 0o777) == oct(plain.stat().st_mode & 0o777)


def test_put_text_replaces_an_existing_file(tmp_path):
    target = tmp_path / 'last_checkpoint'
    target.write_text('old')
    AtomicLocalBackend().put_text('/work/iter_4.pth', target)
    assert target.read_text() == '/work/iter_4.pth'
    assert listing(tmp_path) == ['last_checkpoint']


@pytest.mark.parametrize(
    'failure', [
        OSError(errno.ENOSPC, 'No space left on device'),
        KeyboardInterrupt(),
    ],
    ids=['disk-full', 'interrupted'])
def test_failure_mid_write_keeps_the_previous_file_and_leaves_no_debris(
        tmp_path, monkeypatch, failure):
    target = tmp_path / 'iter_4.pth'
    target.write_bytes(b'previous checkpoint')
    seen = []

    def failing_fsync(fd):
        # the new bytes are in the temporary file beside the target, the target is untouched
        seen.append(listing(tmp_path))
        raise failure

    monkeypatch.setattr(backend_module.os, 'fsync', failing_fsync)
    with pytest.raises(type(failure)) as error:
        AtomicLocalBackend().put(b'half of the new checkpoint', target)
    assert len(seen[0]) == 2 and any(n.startswith('.iter_4.pth.') for n in seen[0])
    assert target.read_bytes() == b'previous checkpoint'
    assert listing(tmp_path) == ['iter_4.pth']
    if isinstance(failure, OSError):
        message = str(error.value)
        assert error.value.errno == errno.ENOSPC
        assert '\n' not in message and str(target) in message and 'No space left' in message


def test_unwritable_destination_names_the_file(tmp_path):
    blocker = tmp_path / 'work_dir'
    blocker.write_text('a file where the work dir should be')
    with pytest.raises(OSError) as error:
        AtomicLocalBackend().put(b'x', blocker / 'iter_2.pth')
    assert str(blocker / 'iter_2.pth') in str(error.value) and '\n' not in str(error.value)
    assert blocker.read_text() == 'a file where the work dir should be'


def test_mmengine_saves_checkpoints_through_it(tmp_path):
    path = str(tmp_path / 'iter_2.pth')
    backend = get_file_backend(path, backend_args=dict(backend='local_atomic'))
    assert isinstance(backend, AtomicLocalBackend)
    save_checkpoint({'state_dict': {
        'w': torch.ones(3)
    }},
                    path,
                    backend_args=dict(backend='local_atomic'))
    assert torch.equal(safe_load(path)['state_dict']['w'], torch.ones(3))
    assert listing(tmp_path) == ['iter_2.pth']
