"""One figure that shows what a trained and evaluated run learned.

    python tools/analysis_tools/summary_figure.py WORK_DIR [--out FILE.png] [--num-images 16]
        [--dpi 100] [--config CONFIG] [--checkpoint CKPT] [--device cpu]

WORK_DIR is a work dir of ``tools/train.py`` evaluated by ``tools/test.py --work-dir WORK_DIR``
(``tools/quickstart.sh`` makes one). The figure (default ``WORK_DIR/summary.png``) holds:

- left: the first ``--num-images`` (16) images of the config's test split, held out from training,
  each with the parts the checkpoint predicts blended in and their centroids as dots (drawn by
  :class:`partseg.visualization.PartVisualizer`, 256 px per image), and the part colours;
- top right: the metrics of ``WORK_DIR/metrics.json`` beside the trivial baselines each metric
  reports (what ``tools/test.py`` prints);
- bottom right: the training loss curves of every launch of the run
  (``WORK_DIR/<timestamp>/vis_data/scalars.json``, joined as ``plot_curves.py`` does).

The config and checkpoint are the ones ``metrics.json`` names (what ``tools/test.py`` evaluated);
``--config`` / ``--checkpoint`` override them. ``--dpi 64 --out FIG.jpg`` gives a small copy for a
web page (the README's figure is made so). Needs matplotlib.
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
for path in (ROOT, HERE):  # run from anywhere without installing; plot_curves is a sibling tool
    if path not in sys.path:
        sys.path.insert(0, path)

from plot_curves import find_scalar_logs, read_launches  # noqa: E402

from partseg.utils.cli import UserError, run_tool  # noqa: E402

GAP = 6  # white pixels between the image tiles


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Summary figure of an evaluated partseg run: held-out images with their '
        'parts, metrics beside the trivial baselines, training loss curves.')
    parser.add_argument('work_dir', help='work dir of tools/train.py and tools/test.py')
    parser.add_argument('--out', help='output .png or .jpg (default: WORK_DIR/summary.png)')
    parser.add_argument(
        '--dpi',
        type=int,
        default=100,
        help='resolution: the figure is 19 x 10.5 inches (default 100: 1900 x 1050 px)')
    parser.add_argument(
        '--num-images', type=int, default=16, help='held-out images to draw (default 16)')
    parser.add_argument('--config', help='config (default: the one metrics.json names)')
    parser.add_argument('--checkpoint', help='checkpoint (default: the one metrics.json names)')
    parser.add_argument('--device', default='cpu', help="'cpu' (default) or 'cuda[:N]'")
    return parser.parse_args(argv)


def read_metrics(work_dir: str) -> dict:
    """``WORK_DIR/metrics.json`` as ``tools/test.py`` writes it: config, checkpoint, metrics."""
    path = osp.join(work_dir, 'metrics.json')
    if not osp.isfile(path):
        raise UserError(f'no metrics.json in {work_dir}: evaluate the run first with '
                        f'tools/test.py CONFIG CHECKPOINT --work-dir {work_dir}')
    try:
        with open(path) as f:
            record = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f'{path} is not a JSON file ({error})') from None
    if not isinstance(record, dict) or not isinstance(record.get('metrics'), dict):
        raise UserError(f'{path} has no "metrics" dict (written by tools/test.py)')
    return record


def resolve_file(given: Optional[str], recorded, what: str, path: str) -> str:
    """``given`` (a command-line override) or the ``recorded`` path of ``metrics.json``; a
    relative recorded path is tried from the current directory and from the repository root.

    A config is Python that building the model runs, so a recorded config is used only where it
    lies inside this repository (``configs/``, ``projects/``, ...); any other must be given with
    ``--config``: a work dir handed over from elsewhere cannot make this tool run its code.
    """
    if given is not None:
        if not osp.isfile(given):
            raise UserError(f'{what} not found: {given}')
        return given
    if not isinstance(recorded, str):
        raise UserError(f'{path} names no {what}; give --{what}')
    for candidate in (recorded, osp.join(ROOT, recorded)):
        if osp.isfile(candidate):
            inside = osp.commonpath([osp.realpath(candidate), osp.realpath(ROOT)])
            if what == 'config' and inside != osp.realpath(ROOT):
                raise UserError(f'{path} names the config {recorded}, outside this repository; '
                                f'give it with --config if you trust it')
            return candidate
    raise UserError(f'the {what} {recorded} named in {path} was not found; give --{what}')


def predict_held_out(config: str, checkpoint: str, num_images: int,
                     device: str) -> Tuple[list, list, object]:
    """(images (H, W, 3) uint8, predicted data samples, model) for the first ``num_images``
    samples of the config's test split."""
    import torch
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope

    from partseg.apis import init_model
    from partseg.engine.checkpoint import check_checkpoint_file
    from partseg.registry import DATASETS

    check_checkpoint_file(checkpoint)
    model = init_model(config, checkpoint, device)
    with DefaultScope.overwrite_default_scope(model.cfg.get('default_scope', 'partseg')):
        dataset = DATASETS.build(model.cfg.test_dataloader.dataset)
        items = [dataset[i] for i in range(min(num_images, len(dataset)))]
    if not items:
        raise UserError(f'the test split of {config} holds no images')
    images, samples = [], []
    for start in range(0, len(items), 8):
        batch = pseudo_collate(items[start:start + 8])
        with torch.no_grad():
            samples += model.test_step(batch)
        for image in batch['inputs']:  # (3, H, W) as loaded -> (H, W, 3) uint8
            images.append(image.float().round().clamp(0, 255).byte().permute(1, 2, 0).numpy())
    return images, samples, model


def overlay_mosaic(images: Sequence[np.ndarray],
                   samples: Sequence,
                   columns: int = 4) -> Tuple[np.ndarray, int]:
    """(mosaic of the part overlays with centroids, rows x columns tiles with white gaps; K)."""
    from partseg.visualization import PartVisualizer

    visualizer = PartVisualizer.get_instance('partseg_summary_figure', alpha=0.5)
    tiles = [visualizer.draw_overlay(image, sample) for image, sample in zip(images, samples)]
    tile_h, tile_w = tiles[0].shape[:2]
    rows = math.ceil(len(tiles) / columns)
    mosaic = np.full((rows * tile_h + (rows - 1) * GAP, columns * tile_w + (columns - 1) * GAP, 3),
                     255,
                     dtype=np.uint8)
    for i, tile in enumerate(tiles):
        row, col = divmod(i, columns)
        top, left = row * (tile_h + GAP), col * (tile_w + GAP)
        mosaic[top:top + tile.shape[0], left:left + tile.shape[1]] = tile
    sample = samples[0]
    num_parts = (
        sample.seg_logits.data.shape[0] - 1 if 'seg_logits' in sample else max(
            int(s.pred_sem_seg.data.max()) for s in samples))
    return mosaic, num_parts


def metric_rows(metrics: Dict[str, float]) -> List[Tuple[str, str, str]]:
    """(metric, this run, trivial baselines) for every metric that is not itself a baseline, as
    ``tools/test.py`` prints them, one baseline a line; metrics are marked lower-better (↓) when
    'error' is in their name, higher-better (↑) otherwise."""
    rows = []
    for name, value in metrics.items():
        if 'baseline' in name:
            continue
        baselines = [(key[len(name) + 1:-len('_baseline')], metrics[key]) for key in metrics
                     if key.startswith(name + '_') and key.endswith('_baseline')]
        label = f'{name} {"↓" if "error" in name else "↑"}'
        text = '\n'.join(f'{b.replace("_", "-")} {_fmt(v)}' for b, v in baselines)
        rows.append((label, _fmt(value), text or '-'))
    return rows


def _fmt(value) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return 'n/a' if not math.isfinite(value) else f'{value:.3f}'
    return str(value)


def draw_figure(mosaic: np.ndarray,
                num_parts: int,
                rows: Sequence[Tuple[str, str, str]],
                curves: Optional[tuple],
                title: str,
                out: str,
                dpi: int = 100) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from partseg.visualization import part_palette
    from partseg.visualization.part_drawing import part_label

    fig = plt.figure(figsize=(19, 10.5), dpi=100)
    grid = fig.add_gridspec(2, 2, width_ratios=(1.0, 0.8), height_ratios=(0.45, 0.55))
    ax = fig.add_subplot(grid[:, 0])
    ax.imshow(mosaic, interpolation='antialiased')
    ax.set_axis_off()
    ax.set_title('held-out images: predicted parts, dots = part centroids', fontsize=14)
    palette = part_palette(num_parts) / 255.0
    handles = [
        Patch(facecolor=palette[k], edgecolor='black', label=part_label(k))
        for k in range(1, num_parts + 1)
    ]
    ax.legend(
        handles=handles,
        loc='upper center',
        bbox_to_anchor=(0.5, 0.0),
        ncol=min(len(handles), 8),
        fontsize=13,
        frameon=False)

    table_ax = fig.add_subplot(grid[0, 1])
    table_ax.set_axis_off()
    table_ax.set_title('test metrics (metrics.json)', fontsize=14)
    table = table_ax.table(
        cellText=[list(row) for row in rows],
        colLabels=['metric', 'this run', 'trivial baselines'],
        colWidths=[0.34, 0.18, 0.48],
        cellLoc='left',
        loc='upper center')
    table.auto_set_font_size(False)
    table.set_fontsize(13)
    for (row, _), cell in table.get_celld().items():
        lines = 1 if row == 0 else max(1, rows[row - 1][2].count('\n') + 1)
        cell.set_height(0.085 * lines + 0.03)
        if row == 0:
            cell.set_text_props(weight='bold')
    table_ax.text(
        0.0,
        -0.02,
        '↓ lower is better, ↑ higher is better; n/a: undefined for this run',
        transform=table_ax.transAxes,
        fontsize=11,
        va='top')

    curve_ax = fig.add_subplot(grid[1, 1])
    if curves is None:
        curve_ax.set_axis_off()
        curve_ax.text(0.5, 0.5, 'no training log in the work dir', ha='center', fontsize=13)
    else:
        train, starts = curves
        keys = [key for key in train if key.startswith('loss')]
        for key in keys:
            steps, values = zip(*train[key])
            curve_ax.plot(steps, values, linewidth=1.6, label=key)
        for start in starts:
            curve_ax.axvline(start, color='grey', linestyle=':', linewidth=1.0)
        if all(value > 0 for key in keys for _, value in train[key]):
            curve_ax.set_yscale('log')
        curve_ax.set_xlabel('iteration', fontsize=12)
        curve_ax.set_ylabel('loss (weighted)', fontsize=12)
        curve_ax.set_title('training losses', fontsize=14)
        curve_ax.tick_params(labelsize=11)
        curve_ax.grid(True, alpha=0.3, which='both')
        curve_ax.legend(fontsize=11, ncol=2)
    fig.suptitle(title, fontsize=16)
    fig.tight_layout()
    try:
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        fig.savefig(out, dpi=dpi)
    except OSError as error:
        raise UserError(f'cannot write {out}: {error.strerror}') from None
    finally:
        plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    if args.out is not None and not args.out.lower().endswith(('.png', '.jpg', '.jpeg')):
        raise UserError(f'--out must name a .png or .jpg file, got {args.out}')
    if not 20 <= args.dpi <= 600:
        raise UserError(f'--dpi must be in [20, 600], got {args.dpi}')
    if args.num_images < 1:
        raise UserError(f'--num-images must be at least 1, got {args.num_images}')
    if not osp.isdir(args.work_dir):
        raise UserError(f'work dir not found: {args.work_dir}')
    metrics_path = osp.join(args.work_dir, 'metrics.json')
    record = read_metrics(args.work_dir)
    config = resolve_file(args.config, record.get('config'), 'config', metrics_path)
    checkpoint = resolve_file(args.checkpoint, record.get('checkpoint'), 'checkpoint', metrics_path)
    try:
        train, _, starts = read_launches(find_scalar_logs(args.work_dir))
        curves = (train, starts) if any(key.startswith('loss') for key in train) else None
    except UserError:
        curves = None

    images, samples, _ = predict_held_out(config, checkpoint, args.num_images, args.device)
    mosaic, num_parts = overlay_mosaic(images, samples)
    out = args.out or osp.join(args.work_dir, 'summary.png')
    title = (f'{osp.splitext(osp.basename(config))[0]}: {len(images)} held-out images, '
             f'checkpoint {osp.basename(checkpoint)} (work dir {osp.normpath(args.work_dir)})')
    draw_figure(mosaic, num_parts, metric_rows(record['metrics']), curves, title, out, args.dpi)
    print(f'summary figure written to {out}')


if __name__ == '__main__':
    run_tool(main)
