"""tools/analysis_tools/_lib/cpu_malloc.py: glibc keeps a freed 64 MiB block after tune_cpu_malloc
and returns it to the OS without. Each case runs in its own interpreter (the settings last for the
process)."""
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
from _lib import cpu_malloc
from _lib.cpu_malloc import MAX_TRIM_THRESHOLD, _mallopt, tune_cpu_malloc

SCRIPT = textwrap.dedent('''
    import os, sys
    import torch
    sys.path.insert(0, sys.argv[2])
    from _lib.cpu_malloc import tune_cpu_malloc

    def rss():
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')

    if sys.argv[1] == 'tuned':
        assert tune_cpu_malloc()
    block = torch.ones(64 * 2**20 // 4)  # 64 MiB, every page touched
    before = rss()
    del block
    print(before - rss())
''')


def _lib_parent() -> str:
    """tools/analysis_tools, the folder that holds _lib (the child interpreter imports it)."""
    return osp.dirname(osp.dirname(osp.abspath(cpu_malloc.__file__)))


needs_glibc = pytest.mark.skipif(_mallopt() is None, reason='glibc mallopt not available')


def _rss_returned(mode: str, env=None) -> int:
    out = subprocess.run(
        [sys.executable, '-c', SCRIPT, mode, _lib_parent()],
        check=True,
        capture_output=True,
        text=True,
        env=None if env is None else dict(os.environ, **env))
    return int(out.stdout.strip().splitlines()[-1])


@needs_glibc
def test_freed_block_stays_in_the_process_only_when_tuned():
    mib = 2**20
    assert _rss_returned('default') > 48 * mib  # glibc mmaps the block and unmaps it on free
    assert _rss_returned('tuned') < 8 * mib  # from the heap, kept for reuse


@needs_glibc
def test_tune_reports_applied():
    # the values benchmark_train.py --keep-freed-memory sets
    assert tune_cpu_malloc(mmap_max=0, trim_threshold=MAX_TRIM_THRESHOLD) is True
    assert tune_cpu_malloc(mmap_max=None, trim_threshold=None) is True  # nothing to set


@pytest.mark.parametrize('kwargs, key', [
    (dict(mmap_max=-1), 'mmap_max'),
    (dict(trim_threshold=2**31), 'trim_threshold'),
    (dict(trim_threshold=1.5), 'trim_threshold'),
    (dict(mmap_max=True), 'mmap_max'),
])
def test_bad_values_one_line_error(kwargs, key):
    with pytest.raises(ValueError, match=f'tune_cpu_malloc: {key}') as info:
        tune_cpu_malloc(**kwargs)
    assert '\n' not in str(info.value)


@needs_glibc
def test_environment_variables_do_the_same_without_code():
    """What docs/benchmarks.md tells a training run to set instead of the removed hook."""
    env = dict(MALLOC_MMAP_MAX_='0', MALLOC_TRIM_THRESHOLD_=str(MAX_TRIM_THRESHOLD))
    assert _rss_returned('default', env) < 8 * 2**20
