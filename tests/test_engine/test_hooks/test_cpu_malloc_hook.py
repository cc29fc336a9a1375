"""CPUMallocHook: applies the malloc settings before a run on the CPU, not for a GPU model."""
import logging
import types

import pytest
import torch
from mmengine.config import Config

from partseg.engine.hooks import CPUMallocHook
from partseg.engine.hooks import cpu_malloc_hook as hook_module
from partseg.utils.cpu_malloc import MAX_TRIM_THRESHOLD


def _runner(device_type: str):
    param = types.SimpleNamespace(device=torch.device(device_type))
    return types.SimpleNamespace(model=types.SimpleNamespace(parameters=lambda: iter([param])))


@pytest.fixture
def calls(monkeypatch):
    seen = []

    def fake_tune(mmap_max, trim_threshold):
        seen.append((mmap_max, trim_threshold))
        return True

    monkeypatch.setattr(hook_module, 'tune_cpu_malloc', fake_tune)
    return seen


def test_applies_on_cpu_with_its_settings(calls):
    CPUMallocHook().before_run(_runner('cpu'))
    CPUMallocHook(mmap_max=None, trim_threshold=2**20).before_run(_runner('cpu'))
    assert calls == [(0, MAX_TRIM_THRESHOLD), (None, 2**20)]


def test_leaves_a_gpu_run_alone(calls):
    CPUMallocHook().before_run(_runner('cuda'))
    assert calls == []


def test_logs_what_it_did(monkeypatch):
    logged = []
    monkeypatch.setattr(
        hook_module,
        'print_log',
        lambda msg, logger=None, level=logging.INFO: logged.append((level, msg)))
    monkeypatch.setattr(hook_module, 'tune_cpu_malloc', lambda *args: True)
    CPUMallocHook().before_run(_runner('cpu'))
    monkeypatch.setattr(hook_module, 'tune_cpu_malloc', lambda *args: False)
    CPUMallocHook().before_run(_runner('cpu'))  # no error: the run goes on with the defaults
    assert [level for level, _ in logged] == [logging.INFO, logging.WARNING]
    assert 'M_MMAP_MAX=0' in logged[0][1] and 'unchanged' in logged[1][1]


@pytest.mark.parametrize(
    'config, keep',
    [
        ('configs/dispart/celeba_wild_k8.py', True),
        ('configs/dispart/synthetic_k4.py', True),
        ('configs/dispart/voc_horse_k4.py', True),
        ('configs/ganseg/celeba_wild_k8.py',
         False),  # its batch-32 memory target: docs/benchmarks.md
        ('configs/_base_/default_runtime.py', False),
    ])
def test_on_in_the_dispart_configs_only(config, keep):
    hook_cfg = Config.fromfile(config).default_hooks.cpu_malloc
    assert hook_cfg == dict(type='CPUMallocHook', keep_freed_memory=keep)


def test_switched_off_does_nothing(calls):
    hook = CPUMallocHook(keep_freed_memory=False)
    hook.before_run(_runner('cpu'))
    assert hook.apply() is None and calls == []


def test_bad_values_one_line_error():
    with pytest.raises(ValueError, match='CPUMallocHook: trim_threshold') as info:
        CPUMallocHook(trim_threshold=-5)
    assert '\n' not in str(info.value)
    with pytest.raises(ValueError, match='CPUMallocHook: keep_freed_memory'):
        CPUMallocHook(keep_freed_memory='yes')
