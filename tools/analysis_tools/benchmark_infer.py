"""Inference throughput (images per second of ``model.test_step``) of a config, as JSON, beside
torchvision's DeepLabV3-ResNet50 at the same batch and image size.

    python tools/analysis_tools/benchmark_infer.py CONFIG [CKPT] [--batch-size 8] [--iters 5] \
        [--warmup 1] [--image-size S] [--device cpu|cuda] [--threads T] [--amp] \
        [--channels-last] [--no-reference] [--out FILE.json] [--cfg-options KEY=VALUE ...]

Each timed call is what ``tools/test.py`` runs per batch: the data preprocessor (uint8 -> float,
normalisation) and ``predict`` (part logits upsampled to the image, argmax, data samples), under
``torch.no_grad`` in eval mode. The batch is synthetic uint8 RGB at the config's test size. For a
GANSeg stage-1 config the call generates one sample per input.

The reference is ``torchvision.models.segmentation.deeplabv3_resnet50(weights=None,
weights_backbone=None, num_classes=<the config's classes>)`` (random weights: speed does not
depend on them) timed from the same uint8 batch: stacking, normalisation, forward (its output is
upsampled to the input size) and argmax. The two take turns batch by batch, so a change of the
machine's load affects both alike; ours runs once alone first, so its peak memory does not
include the reference. ``--no-reference`` skips it. ``--amp`` runs both under
bf16 autocast (fp16 on a GPU without bf16); ``--channels-last`` converts both.
"""
import argparse
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
for _path in (ROOT, HERE):  # run from anywhere without installing; HERE holds _lib
    if _path not in sys.path:
        sys.path.insert(0, _path)

from _lib.arguments import check_benchmark_args

from partseg.utils.cli import (UserError, add_cfg_options_argument, check_state_dict_fits,
                               load_config, run_tool)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark inference of a partseg config (images per second) against '
        "torchvision's DeepLabV3-R50, as JSON.")
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', help='optional checkpoint (.pth) to load')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--iters', type=int, default=5, help='timed batches (default 5)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed batches first')
    parser.add_argument(
        '--image-size',
        type=int,
        nargs='+',
        metavar='S',
        help='H [W] (default: the config\'s test size)')
    parser.add_argument('--device', default='cpu', help="'cpu' (default), 'cuda' or 'cuda:N'")
    parser.add_argument('--threads', type=int, help='torch intra-op threads (default: torch\'s)')
    parser.add_argument('--amp', action='store_true', help='bf16 autocast (fp16 on older GPUs)')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument(
        '--no-reference', action='store_true', help="skip torchvision's DeepLabV3-R50")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='write the JSON result to this file as well')
    add_cfg_options_argument(parser)
    args = parser.parse_args(argv)
    check_benchmark_args(args, ('batch_size', 'iters'))
    if args.image_size is not None and len(args.image_size) > 2:
        raise UserError(f'--image-size takes H or H W, got {args.image_size}')
    return args


def main(argv=None):
    args = parse_args(argv)
    import torch
    from _lib.benchmark import (amp_context, apply_memory_format, environment_info,
                                infer_image_size, num_label_classes, peak_memory, setup_device,
                                synthetic_batch, time_interleaved, timing_stats, write_result)
    from mmengine.registry import DefaultScope
    from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict

    import partseg.engine  # noqa: F401  (registers everything; safe checkpoint loading)
    from partseg.registry import MODELS

    device = setup_device(args.device, args.threads, args.seed)
    cfg = load_config(args.config, args.cfg_options)
    env = environment_info(device)
    on_gpu = device.startswith('cuda')
    amp_dtype = torch.bfloat16
    if args.amp and on_gpu and not torch.cuda.is_bf16_supported():
        amp_dtype = torch.float16

    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'partseg')):
        model = MODELS.build(cfg.model)
    if args.checkpoint:
        if not osp.isfile(args.checkpoint):
            raise UserError(f'checkpoint not found: {args.checkpoint}')
        checkpoint = _load_checkpoint(args.checkpoint, map_location='cpu')
        state_dict = checkpoint.get('state_dict', checkpoint)
        check_state_dict_fits(model, state_dict, args.checkpoint)
        load_state_dict(model, state_dict, strict=True)
    model = model.to(device).eval()
    if args.channels_last:
        apply_memory_format(model, 'channels_last')
    if args.image_size:
        image_size = (args.image_size[0], args.image_size[-1])
    else:
        image_size = infer_image_size(cfg, args.config, ('test_dataloader', 'train_dataloader'))
    num_classes = num_label_classes(cfg, model)
    batch = synthetic_batch(args.batch_size, image_size, num_classes, args.seed)

    def ours():
        with torch.no_grad(), amp_context(device, args.amp, amp_dtype):
            model.test_step(batch)

    # ours alone first, so its peak memory does not include the reference model
    with torch.no_grad(), amp_context(device, args.amp, amp_dtype):
        model.test_step(batch)
    peak, peak_kind = peak_memory(device)
    fns = [ours]
    if not args.no_reference:
        from torchvision.models.segmentation import deeplabv3_resnet50

        reference = deeplabv3_resnet50(
            weights=None, weights_backbone=None, num_classes=num_classes, aux_loss=False)
        reference = reference.to(device).eval()
        if args.channels_last:
            apply_memory_format(reference, 'channels_last')
        mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1) * 255
        std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1) * 255

        def theirs():
            with torch.no_grad(), amp_context(device, args.amp, amp_dtype):
                x = (torch.stack(batch['inputs']).to(device).float() - mean) / std
                reference(x)['out'].argmax(1)

        fns.append(theirs)
    timings = time_interleaved(fns, args.warmup, args.iters, device)
    times, cpu, warm = timings[0]
    stats = timing_stats(times)
    result = dict(
        tool='benchmark_infer',
        config=args.config,
        checkpoint=args.checkpoint,
        cfg_options=args.cfg_options or {},
        model=type(model).__name__,
        batch_size=args.batch_size,
        image_size=list(image_size),
        iters=args.iters,
        warmup=args.warmup,
        amp=str(amp_dtype).replace('torch.', '') if args.amp else None,
        channels_last=args.channels_last,
        s_per_batch=stats,
        images_per_s=args.batch_size / stats['median'],
        cpu_s_per_batch=timing_stats(cpu),
        times_s=times,
        warmup_times_s=warm,
        peak_memory_bytes=peak,
        peak_memory_kind=peak_kind,
        reference=None,
        env=env)
    if not args.no_reference:
        ref_times, ref_cpu, ref_warm = timings[1]
        ref_stats = timing_stats(ref_times)
        result['reference'] = dict(
            model='torchvision deeplabv3_resnet50(weights=None, weights_backbone=None)',
            num_classes=num_classes,
            s_per_batch=ref_stats,
            images_per_s=args.batch_size / ref_stats['median'],
            cpu_s_per_batch=timing_stats(ref_cpu),
            times_s=ref_times,
            warmup_times_s=ref_warm)
        result['speedup_vs_reference'] = ref_stats['median'] / stats['median']
    result['load_average_end'] = environment_info(device)['load_average']

    write_result(result, args.out)
    line = (f'{osp.basename(args.config)}: {result["images_per_s"]:.2f} images/s at batch '
            f'{args.batch_size}, {image_size[0]}x{image_size[1]}')
    if result['reference']:
        line += (f'; torchvision DeepLabV3-R50 {result["reference"]["images_per_s"]:.2f} '
                 f'images/s ({result["speedup_vs_reference"]:.2f}x)')
    print(line, file=sys.stderr)
    return 0


if __name__ == '__main__':
    run_tool(main)
