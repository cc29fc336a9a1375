"""The package holds the methods and their engine: no benchmarking, timing, RSS or malloc tuning
code in partseg/ (those live in tools/analysis_tools/_lib), and nothing imports them from there."""
import os
import os.path as osp

import pytest

PACKAGE = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'partseg')
# what only a benchmark or an allocator tweak uses
TOOL_ONLY = ('mallopt', 'ru_maxrss', 'getrusage', '/proc/self/statm', 'process_time(', '_lib.')


def _sources():
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith('.py'):
                yield osp.join(folder, name)


@pytest.mark.parametrize('needle', TOOL_ONLY)
def test_no_benchmark_or_malloc_code_in_the_package(needle):
    hits = [osp.relpath(path, PACKAGE) for path in _sources() if needle in open(path).read()]
    assert hits == [], f'{needle!r} in partseg/: {hits}'


def test_no_benchmark_modules_left():
    for gone in ('utils/benchmark.py', 'utils/cpu_malloc.py', 'engine/hooks/cpu_malloc_hook.py'):
        assert not osp.exists(osp.join(PACKAGE, gone))
