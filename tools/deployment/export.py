"""Export a segmenter: ``python tools/deployment/export.py CONFIG CKPT --format onnx|torchscript``.

The exported model maps ``images`` (B, 3, H, W) float32 RGB with values in [0, 255] to
``part_logits`` (B, K+1, H, W) at the input size, channel 0 the background: the data
preprocessor's normalisation is inside, so feed raw pixel values (not divided by 255, not
mean-subtracted). Batch, height and width are dynamic; feed images at the size the config resizes
to (``--shape``'s default) for the parts the model learned. Works for partseg's part segmentors
(DisPart) and GANSeg's stage-2 mmseg segmenter.

``--check`` (default) runs the exported file (onnxruntime / ``torch.jit.load``) on random images
of the export size and of about 1.5x it, prints the largest difference to PyTorch and fails with a
one-line error above ``--atol + --rtol x |PyTorch|``; the file appears only once exported and
checked. A GANSeg stage-1 config (an image generator) is refused naming its stage-2 config.
"""
import argparse
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:  # configs import plugins under the repository root (projects/...)
    sys.path.insert(0, ROOT)

from partseg.utils.cli import add_cfg_options_argument, load_config, run_tool

EXTENSIONS = dict(onnx='.onnx', torchscript='.torchscript.pt')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a partseg segmenter to ONNX or '
                                     'TorchScript.')
    parser.add_argument('config', help='config file the checkpoint was trained with')
    parser.add_argument('checkpoint', help='checkpoint file (.pth)')
    parser.add_argument('--format', required=True, choices=['onnx', 'torchscript'])
    parser.add_argument(
        '--out',
        help='output file (default: beside the checkpoint, <ckpt>.onnx or <ckpt>.torchscript.pt)')
    parser.add_argument(
        '--shape',
        nargs=2,
        type=int,
        metavar=('H', 'W'),
        help="input size to trace at (default: the test pipeline's ResizeParts scale or the "
        "config's image_size)")
    parser.add_argument(
        '--check',
        action=argparse.BooleanOptionalAction,
        default=True,
        help='compare the exported model with PyTorch on sample inputs (default: on)')
    parser.add_argument('--atol', type=float, default=1e-4, help='check tolerance, absolute')
    parser.add_argument('--rtol', type=float, default=1e-4, help='check tolerance, relative')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset (default: 17)')
    add_cfg_options_argument(parser)
    args = parser.parse_args(argv)
    if args.shape is not None and min(args.shape) < 1:
        parser.error(f'--shape needs positive H W, got {args.shape}')
    return args


def main(argv=None):
    args = parse_args(argv)
    from partseg.apis import init_model
    from partseg.apis.segmenter_export import (check_exported, default_input_shape,
                                               export_segmenter, sample_inputs)
    from partseg.engine.checkpoint import check_checkpoint_file

    check_checkpoint_file(args.checkpoint)
    cfg = load_config(args.config, args.cfg_options)
    model = init_model(cfg, args.checkpoint, 'cpu')  # refuses a GANSeg stage-1 (generator) config
    shape = tuple(args.shape) if args.shape else default_input_shape(model.cfg)
    out = args.out or osp.splitext(args.checkpoint)[0] + EXTENSIONS[args.format]
    if osp.dirname(out):
        os.makedirs(osp.dirname(out), exist_ok=True)
    # written beside the destination and renamed once exported and checked: a failed export or
    # check leaves no broken file (and an earlier export of that name as it was)
    name = osp.basename(out)
    partial = osp.join(osp.dirname(out), f'.{name}.partial{osp.splitext(name)[1]}')
    try:
        wrapper = export_segmenter(model, args.format, partial, shape, opset=args.opset)
        if args.check:
            inputs = sample_inputs(shape)
            worst = check_exported(wrapper, args.format, partial, inputs, args.atol, args.rtol)
        os.replace(partial, out)
    except ValueError as error:  # name the file the user asked for, not the partial one
        raise ValueError(str(error).replace(partial, out)) from None
    finally:
        if osp.exists(partial):
            os.remove(partial)
    print(f'exported {args.format} to {out}: input images (B, 3, H, W) float32 RGB in [0, 255], '
          f'traced at H, W = {shape[0]}, {shape[1]}; output part_logits (B, K+1, H, W)')
    if args.check:
        sizes = ', '.join('x'.join(map(str, x.shape)) for x in inputs)
        print(f'check passed: max abs diff to PyTorch {worst:.3g} on inputs {sizes}')


if __name__ == '__main__':
    run_tool(main)
