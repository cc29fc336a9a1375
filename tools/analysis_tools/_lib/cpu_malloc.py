"""glibc malloc settings that keep freed memory in a CPU training process.

A training step on the CPU allocates and frees the same large activation buffers every iteration.
By default glibc serves blocks above its mmap threshold (128 KiB, adapting up to 32 MiB) with
fresh ``mmap`` calls and returns them on ``free``, and trims the top of the heap once 128 KiB lie
free there, so the next iteration page-faults the same memory in again: about 0.4 M minor page
faults and 0.9 CPU-s of kernel time per DisPart iteration at batch 8 on 2 cores
(docs/benchmarks.md). With mmap disabled for ``malloc`` and a large trim threshold, freed
blocks stay in the process for reuse and the process keeps its peak until it exits; heap
fragmentation can raise that peak (GANSeg with activation checkpointing: +5 GiB at batch 32).
Applied by ``benchmark_train.py --keep-freed-memory``. A training run gets the same settings
without code from glibc's environment variables, ``MALLOC_MMAP_MAX_=0
MALLOC_TRIM_THRESHOLD_=2147483647`` (docs/benchmarks.md).
"""
import ctypes
import ctypes.util
import sys
from typing import Optional

from partseg.utils.checks import check_int

__all__ = ['tune_cpu_malloc', 'MAX_TRIM_THRESHOLD']

# mallopt parameters of glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
# mallopt takes a C int
MAX_TRIM_THRESHOLD = 2**31 - 1


def _mallopt():
    """glibc's ``mallopt`` or None (another C library, another OS)."""
    if not sys.platform.startswith('linux'):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
    except OSError:
        return None
    if not hasattr(libc, 'gnu_get_libc_version'):  # musl and others: settings differ
        return None
    mallopt = libc.mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt


def tune_cpu_malloc(mmap_max: Optional[int] = 0,
                    trim_threshold: Optional[int] = MAX_TRIM_THRESHOLD) -> bool:
    """Set glibc's ``M_MMAP_MAX`` and ``M_TRIM_THRESHOLD`` for this process (None leaves one as
    it is). Returns True when every given setting was applied, False where glibc's ``mallopt``
    is not available (macOS, Windows, musl) or refused a value. A value outside [0, 2**31 - 1]
    (``mallopt`` takes a C int) is a one-line ValueError."""
    for key, value in (('mmap_max', mmap_max), ('trim_threshold', trim_threshold)):
        if value is not None:
            check_int(value, key, 0, MAX_TRIM_THRESHOLD, owner='tune_cpu_malloc', hint='or None')
    mallopt = _mallopt()
    if mallopt is None:
        return False
    applied = True
    if mmap_max is not None:
        applied &= mallopt(_M_MMAP_MAX, mmap_max) == 1
    if trim_threshold is not None:
        applied &= mallopt(_M_TRIM_THRESHOLD, trim_threshold) == 1
    return bool(applied)
