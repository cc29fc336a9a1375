"""Train a partseg model.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] ...
"""
import argparse
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:  # configs import plugins under the repository root (projects/...)
    sys.path.insert(0, ROOT)

from partseg.utils.cli import (UserError, add_cfg_options_argument, add_data_root_argument,
                               load_config, run_tool, set_data_root, set_stage1_checkpoint,
                               use_mixed_precision, wait_for_unused_timestamp)


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
        '--amp',
        action='store_true',
        help='mixed-precision training: bf16 (fp16 on GPUs without bf16) autocast, fp32 weights '
        'and losses; on a CPU worthwhile only with native bf16 (AVX-512-BF16, AMX)')
    add_data_root_argument(parser)
    parser.add_argument(
        '--stage1-checkpoint',
        metavar='CKPT',
        help='GANSeg stage 2: the stage-1 checkpoint whose generator samples the training pairs '
        '(sets train_dataloader.dataset.checkpoint)')
    parser.add_argument(
        '--vis-backend',
        choices=['tensorboard'],
        help='also log scalars and images to TensorBoard (<work_dir>/<timestamp>/vis_data/; '
        'needs: pip install -e .[tensorboard])')
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


def _prepare_work_dir(work_dir: str) -> None:
    try:
        os.makedirs(work_dir, exist_ok=True)
    except OSError as error:
        raise UserError(f'cannot create work dir {work_dir}: {error.strerror}') from None
    if not os.access(work_dir, os.W_OK | os.X_OK):
        raise UserError(f'work dir {work_dir} is not writable')


def add_vis_backend(cfg, name: str) -> None:
    """Log to TensorBoard as well as to the local files (``--vis-backend tensorboard``)."""
    import importlib.util
    if importlib.util.find_spec('tensorboard') is None:
        raise UserError('--vis-backend tensorboard needs the tensorboard package: '
                        'pip install -e .[tensorboard]')
    if not isinstance(cfg.get('visualizer'), dict):
        raise UserError(f'--vis-backend: {cfg.filename} has no visualizer to add a backend to')
    backends = list(cfg.visualizer.get('vis_backends') or [])
    if not any(str(b.get('type', '')).startswith('Tensorboard') for b in backends):
        backends.append(dict(type='TensorboardVisBackend'))
    cfg.visualizer.vis_backends = backends


def main(argv=None):
    args = parse_args(argv)
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    import partseg.engine  # noqa: F401  (safe weights-only checkpoint loading, atomic saving)
    from partseg.utils.distributed import prepare_distributed, save_unwrapped_state_dict

    cfg = load_config(args.config, args.cfg_options)
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    if args.stage1_checkpoint is not None:
        set_stage1_checkpoint(cfg, args.stage1_checkpoint)
    if args.vis_backend is not None:
        add_vis_backend(cfg, args.vis_backend)
    cfg.launcher = args.launcher
    prepare_distributed(cfg, args.launcher)  # torchrun on a CPU: gloo, no CUDA device ids
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    _prepare_work_dir(cfg.work_dir)
    if args.amp:
        import torch
        use_mixed_precision(cfg.optim_wrapper, 'cuda' if torch.cuda.is_available() else 'cpu')
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
