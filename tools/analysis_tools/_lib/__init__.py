"""What the tools of ``tools/analysis_tools/`` share and the ``partseg`` package does not hold:
synthetic batches, timing statistics, memory and machine facts (:mod:`.benchmark`), glibc malloc
tuning (:mod:`.cpu_malloc`) and the benchmark tools' command-line options (:mod:`.arguments`).

The tools put their own folder on ``sys.path`` and import ``_lib.<module>``.
"""
