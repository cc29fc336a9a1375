"""CPUMallocHook: keep freed memory in a training process that runs on the CPU."""
import logging
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log

from partseg.registry import HOOKS
from partseg.utils.cpu_malloc import MAX_TRIM_THRESHOLD, check_cpu_malloc_settings, tune_cpu_malloc

__all__ = ['CPUMallocHook']


@HOOKS.register_module()
class CPUMallocHook(Hook):
    """Before a run whose model sits on the CPU, sets glibc's malloc to keep freed memory
    (:func:`partseg.utils.cpu_malloc.tune_cpu_malloc`): no ``mmap`` per large block and no heap
    trimming below ``trim_threshold`` bytes, so each iteration reuses the memory of the last one
    instead of page-faulting it in again (DisPart at batch 8 on 2 cores: 6.9 s instead of 7.3 s per
    iteration; docs/benchmarks.md). The kept memory can raise the peak: a little for DisPart,
    +5 GiB for GANSeg at batch 32 with activation checkpointing, so only the DisPart configs
    hold it (``configs/_base_/default_runtime_cpu_malloc.py``). A model on a GPU is left alone,
    and so is a process without glibc (a one-line note in the log). The settings last until the
    process exits.

    Args:
        keep_freed_memory: apply the settings (False: the hook does nothing, glibc's defaults
            stay; the default runtime holds it so, ``configs/_base_/default_runtime_cpu_malloc.py``
            switches it on).
        mmap_max: glibc ``M_MMAP_MAX``, the number of blocks ``malloc`` may ``mmap`` (0: none).
        trim_threshold: glibc ``M_TRIM_THRESHOLD`` in bytes (at most 2**31 - 1).
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 keep_freed_memory: bool = True,
                 mmap_max: Optional[int] = 0,
                 trim_threshold: Optional[int] = MAX_TRIM_THRESHOLD) -> None:
        if not isinstance(keep_freed_memory, bool):
            raise ValueError(f'CPUMallocHook: keep_freed_memory must be True or False, got '
                             f'{keep_freed_memory!r}')
        check_cpu_malloc_settings('CPUMallocHook', mmap_max, trim_threshold)
        self.keep_freed_memory = keep_freed_memory
        self.mmap_max = mmap_max
        self.trim_threshold = trim_threshold

    @staticmethod
    def _on_cpu(model) -> bool:
        param = next(iter(model.parameters()), None)
        return param is None or param.device.type == 'cpu'

    def apply(self) -> Optional[bool]:
        """Set the malloc options in this process: True where glibc took them, False where it
        could not, None when ``keep_freed_memory`` is off (nothing done)."""
        if not self.keep_freed_memory:
            return None
        return tune_cpu_malloc(self.mmap_max, self.trim_threshold)

    def before_run(self, runner) -> None:
        if not (self.keep_freed_memory and self._on_cpu(runner.model)):
            return
        if self.apply():
            print_log(
                f'CPUMallocHook: glibc malloc keeps freed memory (M_MMAP_MAX='
                f'{self.mmap_max}, M_TRIM_THRESHOLD={self.trim_threshold})',
                logger='current')
        else:
            print_log(
                'CPUMallocHook: no glibc mallopt in this process; malloc settings '
                'unchanged',
                logger='current',
                level=logging.WARNING)
