"""Seconds per training iteration of a plain-PyTorch stand-in for the official DisPart step, as
JSON, to compare with ``benchmark_train.py`` on the same machine at the same hour.

    python tools/analysis_tools/benchmark_dispart_reference.py [--batch-size 8] [--image-size 128] \
        [--num-parts 8] [--iters 5] [--warmup 1] [--threads T] [--device cpu|cuda] [--out FILE]

The official code cannot be run here (it needs its own environment and datasets), so this script
restates the arithmetic of its training step with torchvision building blocks: the shape and
appearance encoders are torchvision's ResNet-18 and ResNet-34 up to layer3 without the stem max
pool (layer3 keeps its stride 2: the official ``downsamplelast`` layout, 16 x 16 maps at 128 px),
a 1 x 1 conv to K + 1 part logits; the decoder has the official widths (8h, 8h, 4h, 4h, 2h, 2h,
h with h = 32, 4 x 4 transposed convs in blocks 2, 4 and 6, then a 3 x 3 conv to RGB); the
perceptual loss is torchvision's VGG-19 up to the ReLU after conv5_2 (frozen, random weights:
speed does not depend on them) on the prediction and on the target of each direction. Like the
official code, each view passes each encoder as its own batch of B and each direction the
decoder and the VGG as its own batch of B. The optimiser is Adam over the encoders, decoder and
classifier. The ArcFace and concentration terms are reduced to a cosine classifier and a spatial
variance of the part maps: they cost well under 1 % of the step either way.

The images are random (B, 3, S, S) tensors in [0, 1] made once, as two views; no TPS warp is
timed (the official code warps in its data-loader workers). Reported like ``benchmark_train``:
median / mean / p90 / min / max seconds per iteration, CPU seconds per iteration, peak memory
(peak RSS on the CPU, ``max_memory_allocated`` on a GPU) and the machine.
"""
import argparse
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
for _path in (ROOT, HERE):  # run from anywhere without installing; HERE holds _lib
    if _path not in sys.path:
        sys.path.insert(0, _path)

from _lib.arguments import add_reference_benchmark_arguments, check_benchmark_args

from partseg.utils.cli import UserError, run_tool

DECODER_WIDTHS = (256, 256, 128, 128, 64, 64, 32)  # h_channel = 32
DECODER_UPSAMPLE = (1, 3, 5)
VGG19_RELU5_2 = 32  # len(vgg19().features[:relu5_2 + 1])
VGG19_LAYER_ENDS = (4, 9, 14, 23, 32)  # relu1_2, relu2_2, relu3_2, relu4_2, relu5_2
OUTPUT_STRIDE = 8


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark a plain-PyTorch stand-in for the official DisPart training step '
        '(seconds per iteration, peak memory) and write them as JSON.')
    add_reference_benchmark_arguments(parser, 'square side S, divisible by 8')
    args = parser.parse_args(argv)
    check_benchmark_args(args, ('batch_size', 'iters', 'num_parts'))
    if args.image_size < 4 * OUTPUT_STRIDE or args.image_size % OUTPUT_STRIDE:
        raise UserError(f'--image-size must be a multiple of {OUTPUT_STRIDE} and at least '
                        f'{4 * OUTPUT_STRIDE}, got {args.image_size}')
    return args


def build_reference(num_parts: int):
    """The official step's networks: (shape trunk, part head, appearance trunk, decoder, VGG,
    cosine classifier)."""
    import torch.nn as nn
    import torchvision

    def trunk(depth: int) -> nn.Sequential:
        net = getattr(torchvision.models, f'resnet{depth}')(weights=None)
        return nn.Sequential(net.conv1, net.bn1, net.relu, net.layer1, net.layer2, net.layer3)

    blocks, prev = [], 256 + 2
    for index, width in enumerate(DECODER_WIDTHS):
        conv = (
            nn.ConvTranspose2d(prev, width, 4, stride=2, padding=1)
            if index in DECODER_UPSAMPLE else nn.Conv2d(prev, width, 3, padding=1))
        blocks += [conv, nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        prev = width
    decoder = nn.Sequential(*blocks, nn.Conv2d(prev, 3, 3, padding=1))
    vgg = torchvision.models.vgg19(weights=None).features[:VGG19_RELU5_2].eval()
    vgg.requires_grad_(False)
    return nn.ModuleDict(
        dict(
            shape=trunk(18),
            part_head=nn.Conv2d(256, num_parts + 1, 1),
            appearance=trunk(34),
            decoder=decoder,
            vgg=vgg,
            classifier=nn.Linear(256, num_parts + 1, bias=False)))


def make_step(nets, optimizer, num_parts: int):
    """One official-style training iteration on two views ``x``, ``y`` (B, 3, S, S) in [0, 1]."""
    import torch
    import torch.nn.functional as F

    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def encode(images):
        maps = nets['part_head'](nets['shape'](images)).softmax(1)  # (B, K+1, h, w)
        appearance = nets['appearance'](images)  # (B, 256, h, w)
        feats = torch.einsum('bkhw,bchw->bkc', maps, appearance) / maps.sum((2, 3))[..., None]
        return maps, feats

    def render(feats, maps):
        b, _, h, w = maps.shape
        ys = torch.linspace(0, 1, h, device=maps.device).view(1, 1, h, 1).expand(b, 1, h, w)
        xs = torch.linspace(0, 1, w, device=maps.device).view(1, 1, 1, w).expand(b, 1, h, w)
        code = torch.einsum('bkc,bkhw->bchw', feats, maps)
        return nets['decoder'](torch.cat((code, xs, ys), 1))

    def vgg_features(images):
        x = (images - mean.to(images)) / std.to(images)
        out, start = [x], 0
        for end in VGG19_LAYER_ENDS:
            x = nets['vgg'][start:end](x)
            out.append(x)
            start = end
        return out

    def step(x, y):
        maps_x, feats_x = encode(x)
        maps_y, feats_y = encode(y)
        loss = 0
        for target, pred in ((y, render(feats_x, maps_y)), (x, render(feats_y, maps_x))):
            with torch.no_grad():
                target_feats = vgg_features(target)
            for t, p in zip(target_feats, vgg_features(pred)):
                loss = loss + (p - t).pow(2).mean()
        labels = torch.arange(num_parts + 1, device=x.device).repeat(x.shape[0])
        for feats in (feats_x, feats_y):
            cosine = F.linear(
                F.normalize(feats.flatten(0, 1), dim=1),
                F.normalize(nets['classifier'].weight, dim=1))
            loss = loss + F.cross_entropy(30 * cosine, labels)
        for maps in (maps_x, maps_y):
            loss = loss + maps.var((2, 3)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def main(argv=None):
    args = parse_args(argv)
    import torch
    from _lib.benchmark import benchmark_reference_step, setup_device

    device = setup_device(args.device, args.threads, args.seed)
    nets = build_reference(args.num_parts).to(device).train()
    nets['vgg'].eval()
    trainable = [p for name, net in nets.items() if name != 'vgg' for p in net.parameters()]
    optimizer = torch.optim.Adam(trainable, lr=1e-4, weight_decay=5e-4)
    step = make_step(nets, optimizer, args.num_parts)
    size = (args.batch_size, 3, args.image_size, args.image_size)
    x, y = torch.rand(size, device=device), torch.rand(size, device=device)
    benchmark_reference_step(
        lambda: step(x, y),
        args,
        device,
        tool='benchmark_dispart_reference',
        label='official DisPart step restated in plain PyTorch (downsamplelast)',
        num_parts=args.num_parts,
        image_size=[args.image_size, args.image_size])
    return 0


if __name__ == '__main__':
    run_tool(main)
