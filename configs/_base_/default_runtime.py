# Runtime shared by every partseg config: registries, environment, logging, checkpoints,
# visualisation. Schedules live in _base_/schedules/, data in _base_/datasets/.
default_scope = 'partseg'
# MMEngine's Runner, extended (partseg.engine.PartsegRunner): resume picks the newest intact
# checkpoint of the work dir given (a moved or copied work dir resumes its own checkpoints), the
# config's optimizer settings apply on resume, configs are checked before anything is built. The
# scope prefix finds it in partseg's registry while tools/train.py builds it (no scope set yet).
runner_type = 'partseg.PartsegRunner'

env_cfg = dict(
    # cuDNN autotuning on a GPU (every config trains on fixed-size images, as mmseg's defaults);
    # no effect on CPUs. The official DisPart / GANSeg code leaves it off.
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

log_processor = dict(by_epoch=False)
log_level = 'INFO'

vis_backends = [dict(type='LocalVisBackend')]
# no fixed name: each Runner gets its own visualizer (named after its experiment), so a second
# Runner in one process does not silently reuse the first one's save_dir
visualizer = dict(type='PartVisualizer', vis_backends=vis_backends)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Each checkpoint and the last_checkpoint record are written to a temporary file and renamed
    # (backend local_atomic, partseg.engine.AtomicLocalBackend), so a killed run never leaves a
    # torn file; temporary files of killed saves are removed at the next start
    # (partseg.engine.hooks.AtomicCheckpointHook).
    checkpoint=dict(
        type='AtomicCheckpointHook',
        by_epoch=False,
        interval=1000,
        max_keep_ckpts=3,
        save_last=True,
        backend_args=dict(backend='local_atomic')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Python / numpy / torch generator states saved with each checkpoint and restored on resume
    # (partseg.engine.hooks.RandomStateHook), so a resumed run draws the same random numbers.
    random_state=dict(type='RandomStateHook'),
    # Resuming from a checkpoint whose weights do not fit the model (another K, architecture or
    # method) is a one-line error naming the file, not MMEngine's warning and a partly random
    # model (partseg.engine.hooks.CheckpointFitHook).
    checkpoint_fit=dict(type='CheckpointFitHook'),
    # partseg's one NaN / overflow policy (partseg.engine.hooks.NonFiniteGuardHook): a NaN, Inf or
    # overflowing (beyond 1.8e19) loss, gradient, weight or optimizer state is never applied or
    # saved; 'stop' ends the run with one line naming the iteration and the first bad terms, and
    # calls the last checkpoint good only after checking it; action='skip' skips the update.
    non_finite=dict(type='NonFiniteGuardHook', action='stop'),
    visualization=dict(type='PartVisualizationHook', num_images=16, interval=0),
)

load_from = None
resume = False
# diff_rank_seed: under DDP every rank draws its own noise / TPS warps (the same seed would make
# all ranks generate identical fake images); weights stay in sync through DDP.
randomness = dict(seed=0, deterministic=False, diff_rank_seed=True)
