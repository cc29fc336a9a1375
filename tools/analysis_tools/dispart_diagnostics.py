"""Does a trained DisPart model use its appearance features? Figures on held-out images.

    python tools/analysis_tools/dispart_diagnostics.py configs/dispart/synthetic_k4.py \
        work_dirs/quickstart/iter_1200.pth [--num-images 64] [--out diagnostics.json]

Encodes the first N images of the config's test set, then prints (and writes as JSON) the
per-part spread of the part features F over images (0: F is the same in every image), the part
maps' mass, the reconstruction error, how much the reconstruction changes when each image gets
another image's F, and how colourful the images and their reconstructions are
(:func:`partseg.evaluation.functional.appearance_diagnostics`).
"""
import argparse
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:  # run from anywhere without installing
    sys.path.insert(0, ROOT)

from partseg.utils.cli import UserError, add_cfg_options_argument, run_tool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Appearance-path diagnostics of a trained DisPart model.')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--num-images',
        type=int,
        default=64,
        help='number of test images (the first ones of the test set; at least 2)')
    parser.add_argument('--device', default='cpu', help="device, e.g. 'cpu' or 'cuda:0'")
    parser.add_argument('--out', help='also write the figures to this JSON file')
    add_cfg_options_argument(parser)
    return parser.parse_args(argv)


def load_test_images(model, num_images: int):
    """The first ``num_images`` images of ``model.cfg``'s test set, normalised (N, 3, H, W)."""
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope

    from partseg.registry import DATASETS

    with DefaultScope.overwrite_default_scope(model.cfg.get('default_scope', 'partseg')):
        dataset = DATASETS.build(model.cfg.test_dataloader.dataset)
    if len(dataset) < num_images:
        raise UserError(f'--num-images {num_images}: the test set of the config has only '
                        f'{len(dataset)} images')
    batch = pseudo_collate([dataset[i] for i in range(num_images)])
    return model.data_preprocessor(batch, False)['inputs']


def format_report(figures: dict) -> str:
    parts = lambda values: ' '.join(f'{v:.3f}' for v in values)  # noqa: E731
    return '\n'.join([
        f'feature spread per part (bg first) | {parts(figures["feature_spread"])}',
        f'part mass per part (bg first)      | {parts(figures["part_mass"])}',
        f'reconstruction error (mean |.|)    | {figures["reconstruction_error"]:.4f}',
        f'change when F is swapped           | {figures["swap_change"]:.4f}',
        f'colourfulness: images / recon.     | {figures["colourfulness_input"]:.4f} / '
        f'{figures["colourfulness_reconstruction"]:.4f}',
    ])


def main(argv=None):
    args = parse_args(argv)
    import torch

    from partseg.apis import init_model
    from partseg.engine.checkpoint import check_checkpoint_file
    from partseg.evaluation.functional import appearance_diagnostics

    if args.num_images < 2:
        raise UserError(f'--num-images must be at least 2, got {args.num_images}')
    check_checkpoint_file(args.checkpoint)
    model = init_model(args.config, args.checkpoint, args.device, args.cfg_options)
    if not (hasattr(model, 'encode') and hasattr(model, 'render')):
        raise UserError(f'{args.config}: the diagnostics need a DisPart model (encode / render), '
                        f'this config builds {type(model).__name__}')
    inputs = load_test_images(model, args.num_images).to(args.device)
    with torch.no_grad():
        figures = appearance_diagnostics(model, inputs)
    figures = dict(
        config=args.config, checkpoint=args.checkpoint, num_images=args.num_images, **figures)
    print(format_report(figures))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(figures, f, indent=2)
        print(f'written to {args.out}')


if __name__ == '__main__':
    run_tool(main)
