"""Seconds per GANSeg stage-1 iteration (one D step + one G step) and peak memory.

    python tools/analysis_tools/benchmark_ganseg.py configs/ganseg/cub_k8.py \
        --batch-sizes 8 32 --iters 4 [--device cuda] [--threads 2]

Each batch size runs in a fresh process (so peak memory is its own): a warm-up iteration, which
carries every penalty (gradient penalty, concentration and area losses), then ``--iters`` timed
iterations that follow the config's penalty schedule from step 1 on. The reported s/iter is the
schedule-weighted mean ``((n - 1) · t_plain + t_gp) / n`` over a gradient-penalty period of
``n = gp_interval`` D steps, where ``t_plain`` is the mean timed iteration without the gradient
penalty and ``t_gp`` the timed warm-up, i.e. comparable with a long run. Real images are random
uint8 tensors at the generator's resolution. Peak memory: the process's peak RSS on the CPU,
``torch.cuda.max_memory_allocated`` on a GPU.
"""
import argparse
import json
import os.path as osp
import resource
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from partseg.utils.cli import UserError, add_cfg_options_argument, load_config, run_tool  # noqa


def measure(config, batch_size, iters, device, threads, cfg_options=None):
    """One batch size in this process: dict of timings (s) and peak memory (bytes)."""
    import copy

    import torch
    from mmengine.registry import DefaultScope

    import partseg.engine  # noqa: F401
    from partseg.engine.optimizers import MultipleOptimWrapperConstructor
    from partseg.registry import MODELS
    from partseg.structures import PartDataSample

    torch.set_num_threads(threads)
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise UserError('--device cuda: no CUDA device is available')
    cfg = load_config(config, cfg_options)
    if cfg.model.get('type') != 'GANSeg':
        raise UserError(f'{config}: not a GANSeg stage-1 config (model.type is '
                        f'{cfg.model.get("type")!r})')
    with DefaultScope.overwrite_default_scope('partseg'):
        model = MODELS.build(cfg.model).to(device).train()
        wrapper_cfg = copy.deepcopy(cfg.optim_wrapper)
        wrapper_cfg.pop('constructor', None)
        optim = MultipleOptimWrapperConstructor(wrapper_cfg)(model)
    size = model.generator.image_size
    data = dict(inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
                        for _ in range(batch_size)],
                data_samples=[PartDataSample() for _ in range(batch_size)])

    def step():
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        model.train_step(data, optim)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        return time.perf_counter() - start

    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    t_gp = step()  # step 0: every penalty
    times = [step() for _ in range(iters)]
    gp_interval = model.gp_interval
    plain = [t for i, t in enumerate(times, start=1) if i % gp_interval]
    t_plain = sum(plain) / len(plain) if plain else t_gp
    if device.startswith('cuda'):
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    weighted = ((gp_interval - 1) * t_plain + t_gp) / gp_interval
    return dict(batch_size=batch_size, s_per_iter=weighted,
                first_iter_with_gp=t_gp, timed=times, peak_memory=peak, device=device,
                threads=threads, image_size=size)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark GANSeg stage-1 training iterations.')
    parser.add_argument('config', help='a GANSeg stage-1 config, e.g. configs/ganseg/cub_k8.py')
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[8, 32])
    parser.add_argument('--iters', type=int, default=4, help='timed iterations per batch size')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    parser.add_argument('--threads', type=int, default=2, help='torch intra-op threads')
    parser.add_argument('--single', action='store_true', help=argparse.SUPPRESS)
    add_cfg_options_argument(parser)
    args = parser.parse_args(argv)
    if args.iters < 1:
        raise UserError(f'--iters must be at least 1, got {args.iters}')
    if args.single:
        result = measure(args.config, args.batch_sizes[0], args.iters, args.device, args.threads,
                         args.cfg_options)
        print(json.dumps(result))
        return 0
    print(f'{"config":<24} {"device":<6} {"threads":>7} {"batch":>5} {"s/iter":>8} '
          f'{"peak memory":>12}')
    for batch_size in args.batch_sizes:
        cmd = [sys.executable, osp.abspath(__file__), args.config, '--single', '--batch-sizes',
               str(batch_size), '--iters', str(args.iters), '--device', args.device, '--threads',
               str(args.threads)]
        if args.cfg_options:
            cmd += ['--cfg-options'] + [f'{k}={v}' for k, v in args.cfg_options.items()]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        name = osp.splitext(osp.basename(args.config))[0]
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines()
            reason = lines[-1] if lines else f'exit status {proc.returncode}'
            if proc.returncode < 0 or 'MemoryError' in proc.stderr or 'out of memory' in reason:
                reason = f'out of memory ({reason})'
            print(f'{name:<24} {args.device:<6} {args.threads:>7} {batch_size:>5} '
                  f'failed: {reason}')
            continue
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f'{name:<24} {args.device:<6} {args.threads:>7} {batch_size:>5} '
              f'{result["s_per_iter"]:>8.3f} {result["peak_memory"] / 2**30:>9.2f} GiB')
    return 0


if __name__ == '__main__':
    run_tool(main)
