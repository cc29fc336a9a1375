"""Seconds per training iteration (``model.train_step``) and peak memory of a config, as JSON.

    python tools/analysis_tools/benchmark_train.py CONFIG [--iters 5] [--warmup 1] \
        [--batch-size B] [--image-size S] [--device cpu|cuda] [--threads T] [--amp] \
        [--channels-last] [--compile generator discriminator] [--with-data] [--out FILE.json] \
        [--keep-freed-memory] [--cfg-options KEY=VALUE ...]

Builds the config's model, data preprocessor and optimizer wrapper(s) (an ``OptimWrapperDict``
for a GAN's ``MultipleOptimWrapperConstructor``) without a Runner, then times ``--iters``
calls of ``model.train_step(batch, optim_wrapper)`` after ``--warmup`` untimed ones. Each call
is one full training iteration as the Runner runs it (GANSeg: one D step and one G step, with the
config's lazy penalty schedule). The batch is synthetic, uint8 RGB images of the config's training
size with random part labels, unless ``--with-data`` draws batches from the config's
``train_dataloader`` (then the time to fetch each batch is reported as ``data_time_s``).

Reported: median / mean / p90 / min / max seconds per iteration, images per second at the median,
the CPU time of the process per iteration (all its threads; on a machine busy with other jobs
it shows the work an iteration takes, which wall-clock time does not), peak memory (the
process's peak RSS on the CPU, ``torch.cuda.max_memory_allocated`` on a GPU), and the machine
(torch version, device, threads, cores, load average at start and end). Run one
configuration per process: the peak RSS is the process's.

``--keep-freed-memory`` (CPU only) sets glibc's malloc to keep freed memory before the model is
built (``_lib.cpu_malloc.tune_cpu_malloc``: no ``mmap`` per large block, no heap trimming), as
the DisPart CPU figures of docs/benchmarks.md were measured (``cpu_malloc`` in the JSON: True
where glibc took the settings, False where it could not, None when not asked or on a GPU).

On a GPU the config's ``env_cfg.cudnn_benchmark`` switches cuDNN autotuning on, as in a training
run (``cudnn_benchmark`` in the JSON; ``--cfg-options env_cfg.cudnn_benchmark=False`` for off).

``--amp``: the config's optimizer wrappers switched to mixed precision as ``tools/train.py
--amp`` does (``partseg.utils.cli.use_mixed_precision``): on a GPU ``AmpOptimWrapper`` (bf16
where supported, else fp16 with dynamic loss scaling), on the CPU ``AutocastOptimWrapper`` in
bf16. ``--channels-last`` stores the model's 4-D weights channels-last (convolutions then run
and propagate NHWC). ``--compile NAME ...`` compiles those
sub-modules in place with ``torch.compile`` (lazily: the warm-up iterations include compilation).
"""
import argparse
import copy
import os.path as osp
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
for _path in (ROOT, HERE):  # run from anywhere without installing; HERE holds _lib
    if _path not in sys.path:
        sys.path.insert(0, _path)

from _lib.arguments import check_benchmark_args

from partseg.utils.cli import (UserError, add_cfg_options_argument, load_config, run_tool,
                               use_mixed_precision)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark training iterations of a partseg config (seconds per '
        'iteration, peak memory) and write them as JSON.')
    parser.add_argument('config', help='config file, e.g. configs/ganseg/celeba_wild_k8.py')
    parser.add_argument('--iters', type=int, default=5, help='timed iterations (default 5)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed iterations first')
    parser.add_argument('--batch-size', type=int, help='default: train_dataloader.batch_size')
    parser.add_argument(
        '--image-size',
        type=int,
        nargs='+',
        metavar='S',
        help='H [W] of the synthetic images (default: the config\'s training size)')
    parser.add_argument('--device', default='cpu', help="'cpu' (default), 'cuda' or 'cuda:N'")
    parser.add_argument('--threads', type=int, help='torch intra-op threads (default: torch\'s)')
    parser.add_argument('--amp', action='store_true', help='mixed precision (bf16 where supported)')
    parser.add_argument(
        '--channels-last', action='store_true', help='channels-last (NHWC) weights and activations')
    parser.add_argument(
        '--compile',
        nargs='+',
        default=[],
        metavar='NAME',
        help='torch.compile these sub-modules (e.g. generator discriminator)')
    parser.add_argument('--compile-backend', default='inductor')
    parser.add_argument(
        '--with-data', action='store_true', help='draw batches from the config\'s train_dataloader')
    parser.add_argument(
        '--keep-freed-memory',
        action='store_true',
        help='CPU: glibc malloc keeps freed memory (no mmap, no trimming) for the whole run')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the JSON result to this file as well')
    add_cfg_options_argument(parser)
    args = parser.parse_args(argv)
    check_benchmark_args(args)
    if args.image_size is not None and len(args.image_size) > 2:
        raise UserError(f'--image-size takes H or H W, got {args.image_size}')
    return args


def main(argv=None):
    args = parse_args(argv)
    import torch
    from _lib.benchmark import (apply_memory_format, compile_submodules, current_rss,
                                environment_info, infer_image_size, num_label_classes, setup_device,
                                synchronize, synthetic_batch, timing_stats, training_fields,
                                training_summary, write_result)
    from _lib.cpu_malloc import tune_cpu_malloc
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    import partseg.engine  # noqa: F401  (registers hooks, constructors, safe checkpointing)
    from partseg.registry import MODELS

    device = setup_device(args.device, args.threads, args.seed)
    cfg = load_config(args.config, args.cfg_options)
    if 'optim_wrapper' not in cfg:
        raise UserError(f'{args.config}: no optim_wrapper, the config cannot be trained')
    env = environment_info(device)
    on_gpu = device.startswith('cuda')
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    amp = use_mixed_precision(optim_cfg, torch.device(device).type) if args.amp else None
    if on_gpu:  # as the Runner does: cuDNN autotuning where the config's env_cfg asks for it
        torch.backends.cudnn.benchmark = bool((cfg.get('env_cfg') or {}).get('cudnn_benchmark'))

    scope = cfg.get('default_scope', 'partseg')
    with DefaultScope.overwrite_default_scope(scope):
        # before the model is built, so its memory comes from the tuned allocator as well
        cpu_malloc = tune_cpu_malloc() if args.keep_freed_memory and not on_gpu else None
        model = MODELS.build(cfg.model).to(device).train()
        if args.channels_last:
            apply_memory_format(model, 'channels_last')
        optim_wrapper = build_optim_wrapper(model, optim_cfg)
        if args.compile:
            compile_submodules(model, args.compile, backend=args.compile_backend)
        batch_size = args.batch_size or cfg.train_dataloader.batch_size
        loader = None
        if args.with_data:
            loader_cfg = copy.deepcopy(cfg.train_dataloader)
            loader_cfg.batch_size = batch_size
            loader = iter(Runner.build_dataloader(loader_cfg, seed=args.seed))
            image_size = None
        else:
            if args.image_size:
                image_size = (args.image_size[0], args.image_size[-1])
            else:
                image_size = infer_image_size(cfg, args.config)
            batch = synthetic_batch(batch_size, image_size, num_label_classes(cfg, model),
                                    args.seed)
    rss_after_build = current_rss()
    if on_gpu:
        torch.cuda.reset_peak_memory_stats()

    def fresh_batch():
        if loader is not None:
            return next(loader)
        return dict(
            inputs=list(batch['inputs']), data_samples=[s.clone() for s in batch['data_samples']])

    times, warmup_times, data_times, cpu_times = [], [], [], []
    for i in range(args.warmup + args.iters):
        start = time.perf_counter()
        data = fresh_batch()
        data_time = time.perf_counter() - start
        synchronize(device)
        start, cpu_start = time.perf_counter(), time.process_time()
        model.train_step(data, optim_wrapper)
        synchronize(device)
        elapsed = time.perf_counter() - start
        if i < args.warmup:
            warmup_times.append(elapsed)
        else:
            times.append(elapsed)
            cpu_times.append(time.process_time() - cpu_start)
            data_times.append(data_time)
    if loader is not None:
        first = data['inputs'][0]
        image_size = tuple(first.shape[-2:])

    result = dict(
        tool='benchmark_train',
        config=args.config,
        cfg_options=args.cfg_options or {},
        model=type(model).__name__,
        batch_size=batch_size,
        image_size=list(image_size),
        iters=args.iters,
        warmup=args.warmup,
        amp=amp,
        channels_last=args.channels_last,
        compile=args.compile,
        with_data=args.with_data,
        cpu_malloc=cpu_malloc,
        **training_fields(times, cpu_times, warmup_times, batch_size, device),
        data_time_s=timing_stats(data_times) if args.with_data else None,
        rss_after_build_bytes=rss_after_build,
        env=env,
        load_average_end=environment_info(device)['load_average'])
    write_result(result, args.out)
    print(training_summary(osp.basename(args.config), result), file=sys.stderr)
    return 0


if __name__ == '__main__':
    run_tool(main)
