"""partseg.utils.cpu_malloc: glibc keeps a freed 64 MiB block after tune_cpu_malloc and returns it
to the OS without. Each case runs in its own interpreter (the settings last for the process)."""
import subprocess
import sys
import textwrap

import pytest

from partseg.utils.cpu_malloc import MAX_TRIM_THRESHOLD, _mallopt, tune_cpu_malloc

SCRIPT = textwrap.dedent('''
    import os, sys
    import torch
    from partseg.utils.cpu_malloc import tune_cpu_malloc

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

needs_glibc = pytest.mark.skipif(_mallopt() is None, reason='glibc mallopt not available')


def _rss_returned(mode: str) -> int:
    out = subprocess.run([sys.executable, '-c', SCRIPT, mode],
                         check=True,
                         capture_output=True,
                         text=True)
    return int(out.stdout.strip().splitlines()[-1])


@needs_glibc
def test_freed_block_stays_in_the_process_only_when_tuned():
    mib = 2**20
    assert _rss_returned('default') > 48 * mib  # glibc mmaps the block and unmaps it on free
    assert _rss_returned('tuned') < 8 * mib  # from the heap, kept for reuse


@needs_glibc
def test_tune_reports_applied():
    # values equal to what the suite's training runs set (CPUMallocHook defaults)
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
