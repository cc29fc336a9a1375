"""Evaluate a checkpoint: ``python tools/test.py CONFIG CKPT [--work-dir] [--out] [--show-dir]``.

Prints the metrics of the config's ``test_evaluator`` as a table, each beside the trivial baselines
its metric reports (``<metric>_<name>_baseline``), and writes them to ``<work_dir>/metrics.json``.
``--out`` and ``--show-dir`` are relative to the work dir (as in mmseg); each is written through a
hidden sibling folder that replaces it only when the test is complete.
"""
import argparse
import json
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:  # configs import plugins under the repository root (projects/...)
    sys.path.insert(0, ROOT)

from partseg.utils.cli import (UserError, add_cfg_options_argument, add_data_root_argument,
                               check_state_dict_fits, load_config, run_tool, set_data_root,
                               wait_for_unused_timestamp)

#: The files --out and --show-dir hold (an earlier run's folder of only these is replaced).
PREDICTION_PATTERNS = ('*.png', 'centroids.json', 'centroids.rank*.json')
OVERLAY_PATTERNS = ('*.png', )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a partseg checkpoint.')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file (.pth)')
    parser.add_argument(
        '--work-dir', help='where logs and metrics.json go (default: work_dirs/<config name>)')
    parser.add_argument(
        '--out',
        help='folder (relative to the work dir) for per-image predictions: label PNGs '
        '(0 = background, k = part k) and a JSON of part centroids')
    parser.add_argument(
        '--show-dir',
        help='folder (relative to the work dir) for part-overlay PNGs of the first '
        'default_hooks.visualization.num_images test images (None: all)')
    add_data_root_argument(parser)
    add_cfg_options_argument(parser)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def format_table(metrics: dict) -> str:
    """Rows ``metric | value | baselines`` for every metric that is not itself a baseline."""
    names = [k for k in metrics if 'baseline' not in k]
    rows = []
    for name in names:
        baselines = [(k[len(name) + 1:-len('_baseline')], metrics[k]) for k in metrics
                     if k.startswith(name + '_') and k.endswith('_baseline')]
        text = ', '.join(f'{b.replace("_", "-")} {_fmt(v)}' for b, v in baselines)
        rows.append((name, _fmt(metrics[name]), text or '-'))
    header = ('metric', 'ours', 'trivial baselines')
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(3)]
    line = lambda r: ' | '.join(c.ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return '\n'.join([line(header), '-+-'.join('-' * w for w in widths)] + [line(r) for r in rows])


def _fmt(value) -> str:
    return f'{value:.4f}' if isinstance(value, float) else str(value)


def check_has_test_split(cfg, config_path: str) -> None:
    """One line for a config with nothing to test (GANSeg's stage 1: its stage-2 config tests)."""
    from partseg.apis import check_segments_images
    check_segments_images(cfg)
    missing = [k for k in ('test_dataloader', 'test_evaluator', 'test_cfg') if not cfg.get(k)]
    if missing:
        raise UserError(f'config {config_path} has no test split ({", ".join(missing)} not set), '
                        f'so there is nothing to test')


def main(argv=None):
    args = parse_args(argv)
    from mmengine.dist import barrier, is_main_process
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    from mmengine.runner.checkpoint import _load_checkpoint

    import partseg.engine  # noqa: F401  (safe weights-only checkpoint loading)
    from partseg.utils.distributed import prepare_distributed, save_unwrapped_state_dict
    from partseg.utils.output_folder import OutputFolder

    cfg = load_config(args.config, args.cfg_options)
    check_has_test_split(cfg, args.config)
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    if not osp.isfile(args.checkpoint):
        raise UserError(f'checkpoint not found: {args.checkpoint}')
    cfg.launcher = args.launcher
    prepare_distributed(cfg, args.launcher)  # torchrun on a CPU: gloo, no CUDA device ids
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = None  # loaded below, strictly
    cfg.resume = False
    outputs = []  # (OutputFolder, what it holds)
    if args.show_dir is not None:
        if 'visualization' not in cfg.default_hooks:
            raise UserError('--show-dir needs default_hooks.visualization in the config')
        show = OutputFolder(osp.join(cfg.work_dir, args.show_dir), OVERLAY_PATTERNS, '--show-dir')
        cfg.default_hooks.visualization.show_dir = osp.abspath(show.partial)
        outputs.append((show, 'part overlays'))
    if args.out is not None:
        preds = OutputFolder(osp.join(cfg.work_dir, args.out), PREDICTION_PATTERNS, '--out')
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='PartPredictionWriterHook', out_dir=osp.abspath(preds.partial))
        ]
        outputs.append((preds, 'label maps and centroids.json'))
    for folder, _ in outputs:
        folder.check()

    wait_for_unused_timestamp(cfg.work_dir)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    # checkpoints name generator.* (not generator.module.*) under a per-submodule DDP
    save_unwrapped_state_dict(runner.model)
    checkpoint = _load_checkpoint(args.checkpoint, map_location='cpu')
    if not isinstance(checkpoint, dict):
        raise UserError(f'{args.checkpoint} is not a partseg/MMEngine checkpoint')
    state_dict = checkpoint.get('state_dict', checkpoint)
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    check_state_dict_fits(model, state_dict, args.checkpoint)
    runner.load_checkpoint(args.checkpoint, map_location='cpu', strict=True)
    if is_main_process():
        for folder, _ in outputs:
            folder.start()
    barrier()
    try:
        metrics = runner.test()
    except BaseException:
        if is_main_process():
            for folder, _ in outputs:
                folder.discard()
        raise
    barrier()  # every rank has written its files

    if is_main_process():
        plain = {
            k.split('/', 1)[-1]: (float(v) if hasattr(v, '__float__') else v)
            for k, v in metrics.items()
        }
        table = format_table(plain)
        print(f'\nResults of {args.checkpoint} on the test split of {args.config}:\n{table}')
        out = osp.join(cfg.work_dir, 'metrics.json')
        with open(out, 'w') as f:
            json.dump(
                dict(config=args.config, checkpoint=args.checkpoint, metrics=plain), f, indent=2)
        print(f'metrics written to {out}')
        for folder, what in outputs:
            print(f'{what} written to {folder.finish()}')


if __name__ == '__main__':
    run_tool(main)
