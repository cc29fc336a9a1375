"""Seconds per training iteration of a plain-PyTorch stand-in for the official GANSeg stage-1 step,
as JSON, to compare with ``benchmark_train.py`` on the same machine at the same hour.

    python tools/analysis_tools/benchmark_ganseg_reference.py [--batch-size 8] [--image-size 128] \
        [--num-parts 8] [--iters 5] [--warmup 1] [--threads T] [--device cpu|cuda] [--out FILE]

The official code cannot be run here (its own environment and datasets), so this script restates
the arithmetic of its training iteration (celeba_wild_k8 settings: 4 points per part, z 256,
embeddings 64, feature maps S/4, S/4, S/2, S with 512, 256, 128, 64 channels, linear heatmaps)
in plain PyTorch, written from the facts of the paper and the official code:

- generator: three MLPs on 256-d noise whose hidden layer is one shared Linear + LeakyReLU applied
  4 (points) or 3 (part and background embeddings) times; points = tanh(MLP / 20), 4 per part;
  the mask, foreground and background branches start from a 1 x 1 conv + sin / cos positional
  embedding of point offsets on a grid extended by 10 pixels; SPADE residual blocks (batch norm
  without affine, a 3 x 3 conv to 128 on the embedded heatmaps, 3 x 3 convs to the scale and
  shift) for the masks (512 -> 64, 64 -> 64 applied twice with shared weights, 64 -> K + 1) and
  the foreground (512 -> 256 -> 128 -> 64 -> 64); AdaIN conv blocks for the background; each
  embedded heatmap is the broadcast product (B, K, 64, H, W) summed over K, as the official code
  computes it; 2x bilinear upsampling and a crop where the size doubles; mask softmax, blend,
  LeakyReLU, two 3 x 3 convs, tanh; the concentration and area penalties of every G forward;
- discriminator: six residual blocks (two 3 x 3 convs, a strided 3 x 3 conv, a strided 1 x 1
  shortcut, / sqrt 2) with 64, 128, 256, 512, 512, 512 channels, then 2048 -> 512 -> 1;
- one iteration: the D step (generator forward with its graph kept, D on the real and on the fake
  batch separately, softplus losses, the (|grad| - 1)^2 penalty x 10 on every 16th step, a
  backward pass that also runs through the generator, as the official fake batch is not
  detached), then the G step (new noise, penalties added on every 2nd step with weights 10 and 1);
  Adam with betas (0.5, 0.9), lr 4e-4 (D) and 1e-4 (G). The official code wraps both networks in
  ``DataParallel``; on one device that only forwards the call, so it is left out.

The real batch is a random (B, 3, S, S) tensor in [-1, 1] made once. Reported like
``benchmark_train``: seconds per iteration (median / mean / p90 / min / max), CPU seconds per
iteration, peak memory (peak RSS on the CPU, ``max_memory_allocated`` on a GPU), the machine.
"""
import argparse
import math
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
for _path in (ROOT, HERE):  # run from anywhere without installing; HERE holds _lib
    if _path not in sys.path:
        sys.path.insert(0, _path)

from _lib.arguments import add_reference_benchmark_arguments, check_benchmark_args

from partseg.utils.cli import UserError, run_tool

CHANNELS = (512, 256, 128, 64)  # feature_map_channels of the official 4-block models
EMB_DIM = 64  # n_embedding
Z_DIM = 256
POINTS_PER_PART = 4
SPADE_HIDDEN = 128
EXTEND = 10  # pixels added on each side of the feature maps
POINT_DIVISOR = 20.0
D_CHANNELS = (64, 128, 256, 512, 512, 512)
GP_INTERVAL, GP_WEIGHT = 16, 10.0
PENALTY_INTERVAL, CON_WEIGHT, AREA_WEIGHT = 2, 10.0, 1.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark a plain-PyTorch stand-in for the official GANSeg stage-1 training '
        'iteration (D step + G step: seconds per iteration, peak memory) and write them as JSON.')
    add_reference_benchmark_arguments(
        parser, 'square side S, a multiple of 4 (feature maps S/4, S/4, S/2, S)')
    args = parser.parse_args(argv)
    check_benchmark_args(args, ('batch_size', 'iters', 'num_parts'))
    if args.image_size < 8 or args.image_size % 4:
        raise UserError(f'--image-size must be a multiple of 4 and at least 8, got '
                        f'{args.image_size}')
    return args


def feature_map_sizes(image_size: int):
    """The official 4-block layout: S/4, S/4, S/2, S (32, 32, 64, 128 at 128 px)."""
    return (image_size // 4, image_size // 4, image_size // 2, image_size)


def _spade(nn, channels: int, emb_dim: int):
    return nn.ModuleDict(
        dict(
            norm=nn.BatchNorm2d(channels, affine=False),
            hidden=nn.Conv2d(emb_dim, SPADE_HIDDEN, 3, padding=1),
            gamma=nn.Conv2d(SPADE_HIDDEN, channels, 3, padding=1),
            beta=nn.Conv2d(SPADE_HIDDEN, channels, 3, padding=1)))


def _spade_resblock(nn, cin: int, cout: int, emb_dim: int):
    mid = min(cin, cout)
    block = dict(
        spade1=_spade(nn, cin, emb_dim),
        conv1=nn.Conv2d(cin, mid, 3, padding=1),
        spade2=_spade(nn, mid, emb_dim),
        conv2=nn.Conv2d(mid, cout, 3, padding=1))
    if cin != cout:
        block.update(
            spade_shortcut=_spade(nn, cin, emb_dim),
            conv_shortcut=nn.Conv2d(cin, cout, 3, padding=1))
    return nn.ModuleDict(block)


def _adain_block(nn, cin: int, cout: int, emb_dim: int):
    return nn.ModuleDict(
        dict(
            norm=nn.BatchNorm2d(cin, affine=False),
            hidden=nn.Linear(emb_dim, SPADE_HIDDEN),
            gamma=nn.Linear(SPADE_HIDDEN, cin),
            beta=nn.Linear(SPADE_HIDDEN, cin),
            conv=nn.Conv2d(cin, cout, 3, padding=1)))


def _disc_block(nn, cin: int, cout: int):
    return nn.ModuleDict(
        dict(
            shortcut=nn.Conv2d(cin, cout, 1, stride=2),
            conv1=nn.Conv2d(cin, cout, 3, padding=1),
            conv2=nn.Conv2d(cout, cout, 3, padding=1),
            down=nn.Conv2d(cout, cout, 3, padding=1, stride=2)))


def build_reference(num_parts: int,
                    image_size: int = 128,
                    channels=CHANNELS,
                    emb_dim: int = EMB_DIM):
    """The official networks: ``generator`` and ``discriminator`` ModuleDicts (run by
    ``generate`` and ``discriminate``). Shared-weight layers are stored once, as officially."""
    import torch.nn as nn

    n_points = num_parts * POINTS_PER_PART
    sizes = feature_map_sizes(image_size)

    def mlp(out_dim):  # one hidden layer, applied several times (the official [layer] * n)
        return nn.ModuleDict(dict(hidden=nn.Linear(Z_DIM, Z_DIM), out=nn.Linear(Z_DIM, out_dim)))

    c0 = channels[0]
    widths = list(channels) + [emb_dim]
    generator = nn.ModuleDict(
        dict(
            point_mlp=mlp(2 * n_points),
            part_mlp=mlp(emb_dim),
            bg_mlp=mlp(emb_dim),
            part_embedding=nn.Embedding(num_parts, emb_dim),
            mask_start=nn.Conv2d(2 * n_points, c0 // 2, 1),
            fg_start=nn.Conv2d(2 * num_parts, c0 // 2, 1),
            bg_start=nn.Conv2d(2, c0 // 2, 1),
            mask_first=_spade_resblock(nn, c0, emb_dim, emb_dim),
            mask_middle=_spade_resblock(nn, emb_dim, emb_dim, emb_dim),
            mask_last=_spade_resblock(nn, emb_dim, num_parts + 1, emb_dim),
            fg_blocks=nn.ModuleList(
                _spade_resblock(nn, a, b, emb_dim) for a, b in zip(widths, widths[1:])),
            bg_blocks=nn.ModuleList(
                _adain_block(nn, a, b, emb_dim) for a, b in zip(widths, widths[1:])),
            rgb=nn.Sequential(
                nn.Conv2d(emb_dim, emb_dim, 3, padding=1), nn.LeakyReLU(0.2),
                nn.Conv2d(emb_dim, 3, 3, padding=1))))
    side = image_size
    for _ in D_CHANNELS:
        side = (side - 1) // 2 + 1
    discriminator = nn.ModuleDict(
        dict(
            blocks=nn.ModuleList(
                _disc_block(nn, a, b) for a, b in zip((3, ) + D_CHANNELS, D_CHANNELS)),
            fc=nn.Sequential(
                nn.Linear(D_CHANNELS[-1] * side * side, 512), nn.LeakyReLU(0.2), nn.Linear(512,
                                                                                           1))))
    for module in list(generator.modules()) + list(discriminator.modules()):
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, a=0.2)
            nn.init.zeros_(module.bias)
    return nn.ModuleDict(dict(generator=generator, discriminator=discriminator)), sizes


def _grid(torch, size: int, extend: int, device):
    """(size + 2 extend)^2 x 2 (row, column) coordinates: linspace(-1, 1, size) continued by
    ``extend`` steps on each side."""
    step = 2.0 / (size - 1)
    end = 1.0 + step * extend
    axis = torch.linspace(-end, end, size + 2 * extend, device=device)
    rows, cols = torch.meshgrid(axis, axis, indexing='ij')
    return torch.stack((rows, cols), -1).reshape(-1, 2)


def generate(nets, sizes, noise, with_penalties: bool):
    """The official generator forward: a dict with ``image`` and, when asked, the concentration
    and area penalties of its part masks."""
    import torch
    import torch.nn.functional as F

    g = nets['generator']
    num_parts = g['part_embedding'].num_embeddings
    z_points, z_bg, z_parts, bg_position = noise
    batch, device = z_points.shape[0], z_points.device

    def run_mlp(mlp, z, depth):
        for _ in range(depth):
            z = F.leaky_relu(mlp['hidden'](z), 0.2)
        return mlp['out'](z)

    def embed_positions(conv, offsets):  # (B, N, 2) -> sin / cos of a 1x1 conv of grid offsets
        extent = sizes[0] + 2 * EXTEND
        diff = offsets.unsqueeze(-2) - _grid(torch, sizes[0], EXTEND, device)  # (B, N, P, 2)
        diff = diff.transpose(2, 3).reshape(batch, -1, extent, extent)
        x = conv(diff) * math.pi
        return torch.cat((torch.sin(x), torch.cos(x)), 1)

    def spade(block, x, heatmaps):
        hidden = F.leaky_relu(block['hidden'](heatmaps), 0.2)
        return (1 + block['gamma'](hidden)) * block['norm'](x) + block['beta'](hidden)

    def spade_resblock(block, x, heatmaps):
        out = block['conv1'](F.leaky_relu(spade(block['spade1'], x, heatmaps), 0.2))
        out = block['conv2'](F.leaky_relu(spade(block['spade2'], out, heatmaps), 0.2))
        if 'conv_shortcut' in block:
            x = block['conv_shortcut'](spade(block['spade_shortcut'], x, heatmaps))
        return out + x

    def adain_block(block, x, style):
        hidden = F.leaky_relu(block['hidden'](style), 0.2)
        gamma = block['gamma'](hidden)[..., None, None]
        beta = block['beta'](hidden)[..., None, None]
        return block['conv'](F.leaky_relu((1 + gamma) * block['norm'](x) + beta, 0.2))

    def embed_heatmaps(maps, emb):  # the official broadcast product, summed over parts
        return (maps.unsqueeze(2) * emb[..., None, None]).sum(1)

    def crop(x):
        return x[..., EXTEND:-EXTEND, EXTEND:-EXTEND]

    def upsample(x):
        return crop(F.interpolate(x, size=x.shape[-1] * 2, mode='bilinear', align_corners=False))

    # points, part locations and part embeddings
    points = torch.tanh(run_mlp(g['point_mlp'], z_points, 4).reshape(batch, -1, 2) / POINT_DIVISOR)
    per_part = points.reshape(batch, num_parts, POINTS_PER_PART, 2)
    keypoints = per_part.mean(2)
    part_ids = torch.arange(num_parts, device=device).unsqueeze(0).repeat(batch, 1)
    emb = g['part_embedding'](part_ids) * run_mlp(g['part_mlp'], z_parts, 3).unsqueeze(1)
    tau = (per_part - keypoints.unsqueeze(2)).abs().mean((2, 3)) + 1e-6  # (B, K)

    # masks
    mask = embed_positions(g['mask_start'], points)
    mask_blocks = [g['mask_first']] + [g['mask_middle']] * (len(sizes) - 2) + [g['mask_last']]
    for i, (size, block) in enumerate(zip(sizes, mask_blocks)):
        grid = _grid(torch, size, EXTEND, device)
        dist = (keypoints.unsqueeze(-2) - grid).norm(dim=-1)  # (B, K, P)
        init_mask = torch.clamp(
            1 - dist / tau.unsqueeze(-1), min=0).reshape(batch, num_parts, size + 2 * EXTEND,
                                                         size + 2 * EXTEND)
        mask = spade_resblock(block, mask, embed_heatmaps(init_mask, emb))
        if i + 1 < len(sizes) and sizes[i + 1] != size:
            mask = upsample(mask)
    mask = F.softmax(crop(mask), dim=1)
    part_masks, bg_mask = mask[:, :-1], mask[:, -1:]

    # foreground
    fg = embed_positions(g['fg_start'], keypoints)
    for i, (size, block) in enumerate(zip(sizes, g['fg_blocks'])):
        resized = F.interpolate(part_masks, size=size, mode='bilinear', align_corners=False)
        padded = F.pad(resized, (EXTEND, ) * 4, mode='replicate')
        fg = spade_resblock(block, fg, embed_heatmaps(padded, emb))
        if i + 1 < len(sizes) and sizes[i + 1] != size:
            fg = upsample(fg)

    # background
    bg_centre = torch.cat((torch.zeros_like(bg_position[..., :1]), bg_position[..., 1:]), -1)
    bg_style = run_mlp(g['bg_mlp'], z_bg, 3)
    bg = embed_positions(g['bg_start'], bg_centre)
    for i, (size, block) in enumerate(zip(sizes, g['bg_blocks'])):
        bg = adain_block(block, bg, bg_style)
        if i + 1 < len(sizes) and sizes[i + 1] != size:
            bg = upsample(bg)

    image = (1 - bg_mask) * crop(fg) + bg_mask * crop(bg)
    out = dict(image=torch.tanh(g['rgb'](F.leaky_relu(image, 0.2))))
    if with_penalties:
        side = part_masks.shape[-1]
        coords = _grid(torch, side, 0, device)  # (S^2, 2)
        dist = ((keypoints.unsqueeze(-2) - coords)**2).sum(-1)  # (B, K, S^2)
        weight = part_masks / (part_masks.sum((-1, -2), keepdim=True) + 1e-6)
        out['center'] = (dist * weight.reshape(batch, num_parts, -1)).sum(-1).mean()
        spread = (per_part - keypoints.unsqueeze(2)).abs().mean((2, 3)) * (side / 2)
        area = part_masks.sum((-1, -2))
        out['area'] = torch.clamp(math.pi * spread**2 - area, min=0).sum(1).mean()
    return out


def discriminate(nets, image):
    """The official discriminator: (B, 3, S, S) -> (B,) logits."""
    import torch.nn.functional as F

    d = nets['discriminator']
    x = image
    for block in d['blocks']:
        out = F.leaky_relu(block['conv1'](x), 0.2)
        out = F.leaky_relu(block['conv2'](out), 0.2)
        x = (block['down'](out) + block['shortcut'](x)) / math.sqrt(2)
    return d['fc'](x.flatten(1)).squeeze(-1)


def make_step(nets, sizes, optim_g, optim_d):
    """One official iteration on a real batch (B, 3, S, S) in [-1, 1]: D step, then G step."""
    import itertools

    import torch
    import torch.nn.functional as F

    counter = itertools.count()

    def noise(batch, device):  # made on the CPU, then moved, as officially
        z = [torch.randn(batch, Z_DIM).to(device) for _ in range(3)]
        return (*z, (torch.rand(batch, 1, 2) * 2 - 1).to(device))

    def step(real):
        index = next(counter)
        batch = real.shape[0]
        optim_d.zero_grad()
        optim_g.zero_grad()
        real = real.detach().requires_grad_()
        fake = generate(nets, sizes, noise(batch, real.device), with_penalties=False)
        d_real = discriminate(nets, real)
        d_fake = discriminate(nets, fake['image'])  # not detached: backward runs through G
        loss_d = F.softplus(d_fake).mean() + F.softplus(-d_real).mean()
        if index % GP_INTERVAL == 0:
            grad, = torch.autograd.grad(d_real, real, torch.ones_like(d_real), create_graph=True)
            loss_d = loss_d + GP_WEIGHT * ((grad.flatten(1).norm(dim=1) - 1)**2).mean()
        loss_d.backward()
        optim_d.step()

        optim_d.zero_grad()
        optim_g.zero_grad()
        fake = generate(nets, sizes, noise(batch, real.device), with_penalties=True)
        loss_g = F.softplus(-discriminate(nets, fake['image'])).mean()
        if index % PENALTY_INTERVAL == 0:
            loss_g = loss_g + CON_WEIGHT * fake['center'] + AREA_WEIGHT * fake['area']
        loss_g.backward()
        optim_g.step()

    return step


def main(argv=None):
    args = parse_args(argv)
    import torch
    from _lib.benchmark import benchmark_reference_step, setup_device

    device = setup_device(args.device, args.threads, args.seed)
    nets, sizes = build_reference(args.num_parts, args.image_size)
    nets = nets.to(device).train()
    optim_g = torch.optim.Adam(nets['generator'].parameters(), lr=1e-4, betas=(0.5, 0.9))
    optim_d = torch.optim.Adam(nets['discriminator'].parameters(), lr=4e-4, betas=(0.5, 0.9))
    step = make_step(nets, sizes, optim_g, optim_d)
    real = torch.rand(args.batch_size, 3, args.image_size, args.image_size, device=device) * 2 - 1
    benchmark_reference_step(
        lambda: step(real),
        args,
        device,
        tool='benchmark_ganseg_reference',
        label='official GANSeg stage-1 iteration restated in plain PyTorch',
        num_parts=args.num_parts,
        image_size=[args.image_size, args.image_size],
        feature_map_sizes=list(sizes))
    return 0


if __name__ == '__main__':
    run_tool(main)
