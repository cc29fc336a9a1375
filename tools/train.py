"""Train a partseg model: ``python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] ...``."""
import argparse
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:  # configs import plugins under the repository root (projects/...)
    sys.path.insert(0, ROOT)

from partseg.utils.cli import (UserError, add_cfg_options_argument, load_config, run_tool,
                               wait_for_unused_timestamp)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a partseg model (MMEngine runner).')
    parser.add_argument('config', help='config file, e.g. configs/dispart/synthetic_k4.py')
    parser.add_argument(
        '--work-dir', help='where logs and checkpoints go (default: work_dirs/<config name>)')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        metavar='CKPT',
        help='resume training: from CKPT, or without a value from the latest checkpoint in the '
        'work dir')
    parser.add_argument(
        '--amp', action='store_true', help='mixed-precision training (needs a CUDA device)')
    add_cfg_options_argument(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher for distributed training')
    # torchrun passes --local-rank / LOCAL_RANK; torch.distributed.launch passes --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _use_amp(cfg) -> None:
    import torch
    if not torch.cuda.is_available():
        raise UserError('--amp needs a CUDA device; none is available (train without --amp)')
    wrapper = cfg.optim_wrapper
    if 'optimizer' in wrapper:  # a single optimizer wrapper
        wrapper.type = 'AmpOptimWrapper'
        wrapper.setdefault('loss_scale', 'dynamic')
        return
    # several wrappers (e.g. generator / discriminator under MultipleOptimWrapperConstructor)
    subs = [v for v in wrapper.values() if isinstance(v, dict) and 'optimizer' in v]
    if not subs:
        raise UserError('--amp: optim_wrapper has no optimizer to wrap (expected '
                        'optim_wrapper.optimizer or optim_wrapper.<name>.optimizer)')
    for sub in subs:
        sub.type = 'AmpOptimWrapper'
        sub.setdefault('loss_scale', 'dynamic')


def _prepare_work_dir(work_dir: str) -> None:
    try:
        os.makedirs(work_dir, exist_ok=True)
    except OSError as error:
        raise UserError(f'cannot create work dir {work_dir}: {error.strerror}') from None
    if not os.access(work_dir, os.W_OK | os.X_OK):
        raise UserError(f'work dir {work_dir} is not writable')


def main(argv=None):
    args = parse_args(argv)
    import partseg.engine  # noqa: F401  (safe weights-only checkpoint loading, atomic saving)
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    from partseg.utils.distributed import prepare_distributed, save_unwrapped_state_dict

    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    prepare_distributed(cfg, args.launcher)  # torchrun on a CPU: gloo, no CUDA device ids
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    _prepare_work_dir(cfg.work_dir)
    if args.amp:
        _use_amp(cfg)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise UserError(f'--resume: checkpoint not found: {args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume

    wait_for_unused_timestamp(cfg.work_dir)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    # checkpoints name generator.* (not generator.module.*) under a per-submodule DDP
    save_unwrapped_state_dict(runner.model)
    runner.train()


if __name__ == '__main__':
    run_tool(main)
