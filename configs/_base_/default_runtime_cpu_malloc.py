# The default runtime with CPUMallocHook switched on: on a CPU run, glibc's malloc keeps freed
# memory for the next iteration instead of unmapping it and page-faulting it in again
# (partseg.engine.hooks.CPUMallocHook). Measured on 2 cores (docs/benchmarks.md): DisPart 5 %
# (batch 8) to 25 % (batch 32) faster per iteration for at most 0.56 GiB more peak memory. Not in
# the GANSeg configs: with the generator's activation checkpointing at batch 32 the retained
# memory took the peak from 7.7 to 12.7 GiB. No effect on GPU runs; switch off with
# --cfg-options default_hooks.cpu_malloc.keep_freed_memory=False.
_base_ = ['./default_runtime.py']

default_hooks = dict(cpu_malloc=dict(keep_freed_memory=True))
