"""Segment your own images: ``python tools/infer.py CONFIG CKPT INPUT [--out-dir DIR]``.

INPUT is an image file, a folder (its image files; other files are skipped with a warning naming
them) or a quoted glob pattern (``'photos/**/*.jpg'``). For every image ``<stem>.<ext>`` it writes
to the output folder

- ``<stem>_overlay.png``: the image, the parts blended over it and the label map, with part
  centroids and a colour legend (:class:`partseg.visualization.PartVisualizer`);
- ``<stem>_labels.png``: the label map at the image's size, 8-bit (0 = background, k = part k);

and one ``centroids.json``: ``{image path: [[x, y] or null, ...]}``, the K part centroids in
pixels of the original image (Liu et al. 2021 Eq. 8; null for a part no pixel belongs to).
Stems that occur twice get a suffix ``_1``, ``_2``, ...

An image that cannot be read (truncated, not an image) is skipped with a one-line warning and the
run ends with a summary (N segmented, M skipped and why); ``--strict`` stops at the first. The
outputs are written into a hidden sibling folder that replaces the output folder only when the run
is complete, so the folder always holds one whole run.
"""
import argparse
import json
import os.path as osp
import sys
import warnings

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:  # configs import plugins under the repository root (projects/...)
    sys.path.insert(0, ROOT)

from partseg.utils.cli import (UserError, add_cfg_options_argument, add_data_root_argument,
                               load_config, one_line, run_tool, set_data_root)

#: The files a run writes into its output folder (an earlier run's folder is replaced).
OUTPUT_PATTERNS = ('*_labels.png', '*_overlay.png', 'centroids.json')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Segment images into parts with a checkpoint.')
    parser.add_argument('config', help='config file the checkpoint was trained with')
    parser.add_argument('checkpoint', help='checkpoint file (.pth)')
    parser.add_argument('input', help="an image file, a folder or a quoted glob ('dir/*.jpg')")
    parser.add_argument(
        '--out-dir', default='work_dirs/infer', help='output folder (default: work_dirs/infer)')
    parser.add_argument('--device', default='cpu', help="'cpu' (default), 'cuda' or 'cuda:N'")
    parser.add_argument(
        '--batch-size', type=int, default=4, help='images per forward pass (default: 4)')
    parser.add_argument(
        '--strict',
        action='store_true',
        help='stop at the first image that cannot be segmented (default: skip it with a warning)')
    add_data_root_argument(parser)
    add_cfg_options_argument(parser)
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    return args


def _one_line_warning(message, category, filename, lineno, line=None):
    return f'partseg: warning: {message}\n'


def _unique_stem(path: str, used: set) -> str:
    stem = osp.splitext(osp.basename(path))[0]
    candidate, suffix = stem, 0
    while candidate in used:
        suffix += 1
        candidate = f'{stem}_{suffix}'
    used.add(candidate)
    return candidate


def _segment(model, chunk, batch_size, strict):
    """Results of the images of ``chunk`` that can be segmented, and ``{path: why}`` of the rest.

    The chunk is segmented as one batch; when that fails, image by image to find the bad ones.
    """
    from partseg.apis import inference_model
    try:
        return list(zip(chunk, inference_model(model, chunk, batch_size))), {}
    except (ValueError, OSError) as error:
        if strict or len(chunk) == 1:
            if strict:
                raise
            return [], {chunk[0]: one_line(error)}
    done, failed = [], {}
    for path in chunk:
        found, bad = _segment(model, [path], batch_size, strict)
        done += found
        failed.update(bad)
    return done, failed


def main(argv=None):
    args = parse_args(argv)
    import numpy as np
    import torch
    from mmengine.registry import DefaultScope
    from mmengine.structures import PixelData
    from mmengine.utils import ProgressBar
    from PIL import Image

    from partseg.apis import build_inference_pipeline, expand_image_path, init_model
    from partseg.engine.checkpoint import check_checkpoint_file
    from partseg.structures import PartDataSample
    from partseg.utils.output_folder import OutputFolder
    from partseg.visualization import PartVisualizer

    paths, skipped = expand_image_path(args.input)
    if skipped:
        print(
            f'partseg: warning: skipped {len(skipped)} file(s) that are not images: '
            f'{", ".join(skipped)}',
            file=sys.stderr)
    output = OutputFolder(args.out_dir, OUTPUT_PATTERNS, '--out-dir')
    output.check()
    check_checkpoint_file(args.checkpoint)
    cfg = load_config(args.config, args.cfg_options)
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    model = init_model(cfg, args.checkpoint, args.device)
    with DefaultScope.overwrite_default_scope(model.cfg.get('default_scope', 'partseg')):
        loader = build_inference_pipeline(model.cfg).transforms[0]  # reads the original image
    visualizer = PartVisualizer(name='partseg_infer')

    out_dir = output.start()
    try:
        print(f'Segmenting {len(paths)} image(s) from {args.input}')
        progress = ProgressBar(len(paths))
        centroids, used, failed = {}, set(), {}
        for start in range(0, len(paths), args.batch_size):
            chunk = paths[start:start + args.batch_size]
            done, bad = _segment(model, chunk, args.batch_size, args.strict)
            for path, why in bad.items():
                print(f'\npartseg: warning: skipped {path}: {why}', file=sys.stderr)
            failed.update(bad)
            for path, result in done:
                stem = _unique_stem(path, used)
                dtype = np.uint8 if result.num_parts < 256 else np.uint16
                Image.fromarray(result.labels.astype(dtype)).save(
                    osp.join(out_dir, f'{stem}_labels.png'))
                with warnings.catch_warnings():  # conversion warnings were shown by the inference
                    warnings.simplefilter('ignore')
                    image = loader(dict(img_path=path))['img']  # (H, W, 3) RGB uint8, original
                sample = PartDataSample()
                # log-probabilities: their softmax (the visualizer's part maps) is part_probs
                sample.seg_logits = PixelData(
                    data=torch.from_numpy(result.part_probs).clamp(min=1e-12).log())
                sample.pred_sem_seg = PixelData(data=torch.from_numpy(result.labels)[None])
                visualizer.add_datasample(
                    stem,
                    image,
                    sample,
                    draw_gt=False,
                    out_file=osp.join(out_dir, f'{stem}_overlay.png'))
                centroids[path] = [
                    None if np.isnan(c).any() else [round(float(v), 3) for v in c]
                    for c in result.centroids
                ]
            progress.update(len(chunk))
        if not centroids:
            raise UserError(f'none of the {len(paths)} image(s) could be segmented (first: '
                            f'{next(iter(failed))}: {next(iter(failed.values()))})')
        with open(osp.join(out_dir, 'centroids.json'), 'w') as f:  # one image per line
            f.write('{\n' + ',\n'.join(f' {json.dumps(path)}: {json.dumps(points)}'
                                       for path, points in centroids.items()) + '\n}\n')
    except BaseException:
        output.discard()
        raise
    final = output.finish()
    print(f'\n{len(centroids)} segmented, {len(failed)} skipped' +
          (f' ({_reasons(failed)})' if failed else '') +
          f': overlays, label maps and centroids.json in {final}')


def _reasons(failed: dict) -> str:
    """``2 cannot be read, 1 too small``-style counts of why images were skipped."""
    counts = {}
    for why in failed.values():
        kind = ('cannot be read' if 'cannot read image' in why else
                'not found' if 'not found' in why else why.split(':')[-1].strip()[:60])
        counts[kind] = counts.get(kind, 0) + 1
    return ', '.join(f'{n} {kind}' for kind, n in counts.items())


if __name__ == '__main__':
    warnings.formatwarning = _one_line_warning
    run_tool(main)
