"""Safe checkpoints: weights-only loading with an allow-list, integrity checks, resume on torch."""
import io
import os
import os.path as osp
import pickle
import pickletools
import shlex
import shutil
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import partseg.engine.checkpoint as checkpoint_module
from partseg.engine import (SAFE_GLOBALS, CheckpointError, CorruptCheckpointError,
                            UnsafeCheckpointError, check_checkpoint_file, find_latest_checkpoint,
                            install_safe_checkpointing, safe_load)


def pickle_globals(path) -> set:
    """'module.name' of every GLOBAL opcode in the data.pkl of a torch zip checkpoint."""
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in archive.namelist() if n.endswith('data.pkl'))
        data = archive.read(name)
    found = set()
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name == 'GLOBAL':
            found.add(arg.replace(' ', '.'))
    return found


def one_line(error) -> str:
    message = str(error.value)
    assert '\n' not in message
    return message


class SystemCall:
    """Unpickling this runs ``touch <marker>`` through ``os.system``."""

    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {shlex.quote(self.marker)}', )


class GetattrCall:
    """Unpickling this calls ``builtins.getattr`` on a HistoryBuffer, as its default pickle does."""

    def __reduce__(self):
        return getattr, (HistoryBuffer([1.0], [1]), 'mean')


# --------------------------------------------------------------------------------------------
# allow-list: MMEngine's training state round-trips through weights_only=True loading


def test_history_buffer_round_trips_without_getattr(tmp_path):
    install_safe_checkpointing()
    install_safe_checkpointing()  # idempotent
    buffer = HistoryBuffer([1.0, 2.0, 4.5], [1, 2, 1], max_length=5)
    buffer.update(3.0, count=2)
    path = tmp_path / 'buffer.pth'
    torch.save({'message_hub': {'log_scalars': {'train/loss': buffer}}}, path)

    assert 'builtins.getattr' not in pickle_globals(path)
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in pickle_globals(path)
    loaded = torch.load(path, weights_only=True)['message_hub']['log_scalars']['train/loss']
    assert isinstance(loaded, HistoryBuffer)
    logs, counts = loaded.data
    np.testing.assert_array_equal(logs, [1.0, 2.0, 4.5, 3.0])
    np.testing.assert_array_equal(counts, [1, 2, 1, 2])
    assert logs.dtype == buffer.data[0].dtype and counts.dtype == buffer.data[1].dtype
    assert loaded.max_length == 5
    assert loaded.mean(2) == pytest.approx((4.5 + 3.0) / (1 + 2))  # sum of logs / sum of counts
    assert loaded.current() == 3.0
    # still a working buffer after loading
    loaded.update(7.0)
    assert loaded.current() == 7.0


def test_safe_load_keeps_the_process_wide_allow_list(tmp_path):
    """torch's safe_globals context would drop the allow-list on exit; safe_load must not."""
    path = tmp_path / 'buffer.pth'
    torch.save({'buffer': HistoryBuffer([1.0], [1])}, path)
    safe_load(path)
    with pytest.raises(UnsafeCheckpointError):
        torch.save({'x': GetattrCall()}, tmp_path / 'bad.pth')
        safe_load(tmp_path / 'bad.pth')
    assert isinstance(torch.load(path, weights_only=True)['buffer'], HistoryBuffer)


def test_getattr_is_not_allow_listed():
    allowed = {obj for obj in SAFE_GLOBALS if not isinstance(obj, tuple)}
    allowed |= {obj for obj, _ in (g for g in SAFE_GLOBALS if isinstance(g, tuple))}
    assert getattr not in allowed and getattr not in torch.serialization.get_safe_globals()
    assert np.dtype(object).__class__ not in allowed


@pytest.mark.parametrize(
    'value', [
        np.float64(0.25),
        np.float32(-1.5),
        np.int64(-7),
        np.uint8(200),
        np.bool_(True),
        np.complex128(1 + 2j),
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.array([[1, -2], [3, 4]], dtype=np.int16),
        np.array([True, False]),
        np.array(['left eye', 'nose']),
        np.array(3.5),
        np.dtype('uint16'),
        np.dtype('float64'),
    ],
    ids=repr)
def test_numpy_scalars_arrays_and_dtypes_load(value, tmp_path):
    path = tmp_path / 'numpy.pth'
    torch.save({'meta': {'value': value}}, path)
    loaded = safe_load(path)['meta']['value']
    assert type(loaded) is type(value)
    if isinstance(value, np.dtype):
        assert loaded == value
    else:
        assert loaded.dtype == value.dtype
        np.testing.assert_array_equal(loaded, value)


def test_numpy_1x_global_names_are_allowed(tmp_path):
    """Checkpoints written under numpy 1.x name numpy.core.multiarray.*; they load too."""
    buffer = io.BytesIO()
    torch.save({'x': np.arange(3.0)}, buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src:
        path = tmp_path / 'numpy1.pth'
        with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as dst:
            for info in src.infolist():
                data = src.read(info)
                if info.filename.endswith('data.pkl'):
                    data = data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
                dst.writestr(info, data)
    assert 'numpy.core.multiarray._reconstruct' in pickle_globals(path)
    np.testing.assert_array_equal(safe_load(path)['x'], [0.0, 1.0, 2.0])


# --------------------------------------------------------------------------------------------
# refusal: a checkpoint holding anything else is refused without running it

LOADERS = {
    'safe_load': safe_load,
    'CheckpointLoader': CheckpointLoader.load_checkpoint,
    '_load_checkpoint': _load_checkpoint,
}


def test_system_call_payload_is_live(tmp_path):
    """Control: the payload really runs when unpickled without restriction."""
    marker = tmp_path / 'marker'
    path = tmp_path / 'evil.pth'
    torch.save({'x': SystemCall(marker)}, path)
    torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize('loader', list(LOADERS), ids=str)
@pytest.mark.parametrize('zip_format', [True, False], ids=['zip', 'legacy'])
def test_malicious_pickle_is_refused_without_running(loader, zip_format, tmp_path):
    marker = tmp_path / 'marker'
    path = tmp_path / 'evil.pth'
    state = {'state_dict': {'fc.weight': torch.ones(2)}, 'meta': {'note': SystemCall(marker)}}
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(UnsafeCheckpointError) as error:
        LOADERS[loader](str(path))
    message = one_line(error)
    assert str(path) in message and 'posix.system' in message and 'allow-list' in message
    assert not marker.exists()
    # a refusal is a ValueError (tools print it as a one-line error) and an UnpicklingError
    assert isinstance(error.value, ValueError) and isinstance(error.value, pickle.UnpicklingError)


def test_getattr_payload_is_refused(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'meta': GetattrCall()}, path)
    with pytest.raises(UnsafeCheckpointError) as error:
        safe_load(path)
    message = one_line(error)
    assert str(path) in message and 'the global getattr' in message


@pytest.mark.filterwarnings('ignore:Detected pickle protocol 4')
def test_plain_pickle_file_is_refused_by_name(tmp_path):
    marker = tmp_path / 'marker'
    path = tmp_path / 'raw.pkl'
    with open(path, 'wb') as f:
        pickle.dump({'x': SystemCall(marker)}, f, protocol=4)
    with pytest.raises(UnsafeCheckpointError) as error:
        safe_load(path)
    assert str(path) in one_line(error)
    assert not marker.exists()


# --------------------------------------------------------------------------------------------
# damaged files: one line naming the file, never a deep traceback


@pytest.fixture
def good_checkpoint(tmp_path):
    path = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.arange(64.0)}, 'meta': {'iter': 4}}, path)
    return path


def truncate(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def flip_pickle_byte(path) -> None:
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith('data.pkl'))
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    'damage, fragment', [
        (truncate, 'truncated or damaged zip archive'),
        (lambda p: p.write_bytes(b''), 'empty'),
        (flip_pickle_byte, 'CRC'),
        (lambda p: p.write_text('not a checkpoint'), 'neither a PyTorch zip archive'),
    ],
    ids=['truncated', 'zero-byte', 'bit-flip', 'text'])
@pytest.mark.parametrize('loader', list(LOADERS), ids=str)
def test_damaged_checkpoint_gives_one_line_error_naming_the_file(good_checkpoint, damage, fragment,
                                                                 loader):
    assert safe_load(good_checkpoint)['meta']['iter'] == 4
    check_checkpoint_file(good_checkpoint)
    damage(good_checkpoint)
    with pytest.raises(CorruptCheckpointError) as error:
        LOADERS[loader](str(good_checkpoint))
    message = one_line(error)
    assert str(good_checkpoint) in message and fragment in message
    assert isinstance(error.value, ValueError)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match='checkpoint not found: .*nope.pth'):
        safe_load(tmp_path / 'nope.pth')


def test_other_torch_load_failures_name_the_file(good_checkpoint):
    with pytest.raises(CheckpointError) as error:
        safe_load(good_checkpoint, map_location='no-such-device')
    assert str(good_checkpoint) in one_line(error)


# --------------------------------------------------------------------------------------------
# find_latest_checkpoint: the newest intact checkpoint, damaged ones skipped by name


@pytest.fixture
def work_dir_with_checkpoints(tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr(checkpoint_module, 'print_log', lambda msg, **kw: logged.append(msg))
    for step in (2, 4, 6):
        torch.save({'meta': {'iter': step}}, tmp_path / f'iter_{step}.pth')
    (tmp_path / 'iter_6.pth').rename(tmp_path / 'unrelated_6.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    return tmp_path, logged


def test_find_latest_checkpoint_is_the_newest_in_the_work_dir(work_dir_with_checkpoints):
    work_dir, logged = work_dir_with_checkpoints
    assert find_latest_checkpoint(str(work_dir)) == str(work_dir / 'iter_4.pth')
    assert logged == []


def test_find_latest_checkpoint_does_not_follow_the_record_elsewhere(work_dir_with_checkpoints,
                                                                     tmp_path_factory):
    work_dir, _ = work_dir_with_checkpoints
    # a copied work dir: the record still names the original folder's (existing) checkpoint
    original = tmp_path_factory.mktemp('original')
    torch.save({'meta': {'iter': 8}}, original / 'iter_8.pth')
    (work_dir / 'last_checkpoint').write_text(str(original / 'iter_8.pth'))
    assert find_latest_checkpoint(str(work_dir)) == str(work_dir / 'iter_4.pth')


def test_find_latest_checkpoint_skips_a_damaged_one_by_name(work_dir_with_checkpoints):
    work_dir, logged = work_dir_with_checkpoints
    truncate(work_dir / 'iter_4.pth')
    assert find_latest_checkpoint(str(work_dir)) == str(work_dir / 'iter_2.pth')
    assert any(str(work_dir / 'iter_4.pth') in m and 'truncated' in m for m in logged)


@pytest.mark.parametrize('record', ['', 'missing'], ids=['empty-record', 'missing-record'])
def test_find_latest_checkpoint_without_a_usable_record(work_dir_with_checkpoints, record):
    work_dir, _ = work_dir_with_checkpoints
    if record:
        (work_dir / 'last_checkpoint').unlink()
    else:
        (work_dir / 'last_checkpoint').write_text('')
    torch.save({'meta': {'iter': 10}}, work_dir / 'iter_10.pth')
    assert find_latest_checkpoint(str(work_dir)) == str(work_dir / 'iter_10.pth')


def test_find_latest_checkpoint_nothing_to_resume(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint_module, 'print_log', lambda msg, **kw: None)
    assert find_latest_checkpoint(str(tmp_path)) is None
    (tmp_path / 'iter_2.pth').write_bytes(b'PK\x03\x04broken')
    assert find_latest_checkpoint(str(tmp_path)) is None
    (tmp_path / 'last_checkpoint').write_text('s3://bucket/iter_8.pth')
    assert find_latest_checkpoint(str(tmp_path)) == 's3://bucket/iter_8.pth'


# --------------------------------------------------------------------------------------------
# a real Runner: save at 4 iterations, resume to 6 with weights-only loading


@pytest.fixture(scope='module')
def trained_runs(tmp_path_factory, toy_runner):
    """A toy run of 4 iterations (checkpoints at 2 and 4) and an uninterrupted run of 6."""
    root = tmp_path_factory.mktemp('runs')
    toy_runner(root / 'four', max_iters=4).train()
    reference = toy_runner(root / 'six', max_iters=6)
    reference.train()
    return root / 'four', reference.model.state_dict()


def test_runner_checkpoint_holds_only_allow_listed_globals(trained_runs):
    four, _ = trained_runs
    path = four / 'iter_4.pth'
    stored = pickle_globals(path)
    # exactly what broke MMEngine 0.10.7's resume on torch >= 2.6 ...
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in stored
    assert 'numpy._core.multiarray.scalar' in stored
    # ... all of it allowed: torch's own set (tensors, OrderedDict, ...) and SAFE_GLOBALS
    assert torch.serialization.get_unsafe_globals_in_checkpoint(str(path)) == []
    allowed = {
        f'{obj.__module__}.{obj.__qualname__}'
        for obj in SAFE_GLOBALS if not isinstance(obj, tuple)
    }
    assert {g
            for g in stored if not g.startswith(('torch.', 'collections.', '_codecs.'))} <= allowed
    assert 'builtins.getattr' not in pickle_globals(path)
    # the checkpoint hook wrote through the atomic backend: no temporary debris
    assert not [name for name in os.listdir(four) if name.endswith('.tmp')]
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _assert_same_weights(model, reference_state) -> None:
    for key, value in model.state_dict().items():
        assert torch.equal(value, reference_state[key]), key


def test_runner_resumes_to_six_iterations(trained_runs, toy_runner, tmp_path):
    four, reference_state = trained_runs
    work_dir = tmp_path / 'work'
    shutil.copytree(four, work_dir)
    # the record names the original folder; point it at the copy as a moved work dir would be
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_4.pth'))
    resumed = toy_runner(work_dir, max_iters=6, resume=True)
    resumed.train()
    assert resumed.iter == 6 and osp.isfile(work_dir / 'iter_6.pth')
    # the message hub's HistoryBuffers came back: 4 logged iterations + 2 new ones
    logs, _ = resumed.message_hub.get_scalar('train/lr').data
    assert len(logs) == 6
    np.testing.assert_allclose(logs, [0.01] * 3 + [0.001] * 3)
    # optimizer momentum and LR schedule restored: identical to an uninterrupted run
    _assert_same_weights(resumed.model, reference_state)


def test_runner_resume_skips_a_truncated_latest_checkpoint(trained_runs, toy_runner, tmp_path,
                                                           monkeypatch):
    four, reference_state = trained_runs
    work_dir = tmp_path / 'work'
    shutil.copytree(four, work_dir)
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_4.pth'))
    truncate(work_dir / 'iter_4.pth')
    logged = []
    monkeypatch.setattr(checkpoint_module, 'print_log', lambda msg, **kw: logged.append(msg))
    resumed = toy_runner(work_dir, max_iters=6, resume=True)
    resumed.train()
    assert any('iter_4.pth' in m for m in logged)
    _assert_same_weights(resumed.model, reference_state)


def test_runner_resume_from_a_named_truncated_checkpoint_fails_by_name(
        trained_runs, toy_runner, tmp_path):
    four, _ = trained_runs
    path = tmp_path / 'iter_4.pth'
    shutil.copy(four / 'iter_4.pth', path)
    truncate(path)
    runner = toy_runner(tmp_path / 'work', max_iters=6, resume=str(path))
    with pytest.raises(CorruptCheckpointError) as error:
        runner.train()
    assert str(path) in one_line(error)


# --------------------------------------------------------------------------------------------
# the model-zoo schemes download through partseg's weights-only http loader


@pytest.mark.parametrize('name, prefix, table', [
    ('load_from_local', '', None),
    ('load_from_http', 'https://', None),
    ('load_from_torchvision', 'torchvision://', 'get_torchvision_models'),
    ('load_from_torchvision', 'modelzoo://', 'get_torchvision_models'),
    ('load_from_openmmlab', 'open-mmlab://', 'get_external_models'),
    ('load_from_openmmlab', 'openmmlab://', 'get_external_models'),
    ('load_from_mmcls', 'mmcls://', 'get_mmcls_models'),
])
def test_every_download_scheme_is_weights_only(name, prefix, table, tmp_path, monkeypatch):
    marker = tmp_path / 'marker'
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': SystemCall(marker)}, evil)
    assert CheckpointLoader._get_checkpoint_loader(f'{prefix}zoo_model') is getattr(
        checkpoint_module, name)
    if table is not None:  # the model table points at a URL, "downloaded" to the evil file
        monkeypatch.setattr(checkpoint_module, table,
                            lambda: {'zoo_model': 'https://example.invalid/zoo_model.pth'})
        monkeypatch.setattr(checkpoint_module, 'get_deprecated_model_names', lambda: {})
        monkeypatch.setattr(torch.hub, 'download_url_to_file',
                            lambda url, dst, *a, **k: shutil.copy(evil, dst))
        monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
        filename = f'{prefix}zoo_model'
    else:
        filename = str(evil)
    if prefix == 'https://':
        monkeypatch.setattr(torch.hub, 'download_url_to_file',
                            lambda url, dst, *a, **k: shutil.copy(evil, dst))
        monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
        filename = 'https://example.invalid/evil.pth'
    with pytest.raises(UnsafeCheckpointError, match='posix.system'):
        _load_checkpoint(filename)
    assert not marker.exists()


def test_undownloadable_url_is_one_line_naming_the_file_and_the_key(tmp_path, monkeypatch):
    """Offline, a torchvision:// backbone (GANSeg stage 2's ResNet-50) that is not in torch's hub
    cache gives one line naming the file, the cache folder and the config key, not urllib's."""
    import urllib.error

    def offline(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError('[Errno -2] Name or service not known')

    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'hub'))
    with pytest.raises(CheckpointError) as error:
        _load_checkpoint('torchvision://resnet50')
    message = str(error.value)
    assert '\n' not in message
    assert 'resnet50-' in message and str(tmp_path / 'hub') in message
    assert 'model.backbone.init_cfg.checkpoint' in message and 'URLError' in message
