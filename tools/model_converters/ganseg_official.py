"""Convert a checkpoint of the official GANSeg code (github xingzhehe/GANSeg) to partseg.

    python tools/model_converters/ganseg_official.py SRC DST [--config CONFIG]

SRC is one of the authors' ``epoch_N.model`` files, read weights-only (nothing in it is executed):

- a GAN (``train_gan.py``): ``{'generator': ..., 'discriminator': ..., 'optim_gen', ...}``, written
  as the state dict of partseg's ``GANSeg`` (``configs/ganseg/<name>.py``);
- a segmenter (``train_seg.py``): ``{'detector': torchvision deeplabv3_resnet50 state dict under
  'model.', 'optim'}``, written as the state dict of the mmseg ``EncoderDecoder`` of
  ``configs/ganseg/<name>_stage2.py``.

The kind is told by the keys. DST gets ``state_dict`` and ``meta`` (plain data: the source file,
this converter, the kind, K); optimizer states are not converted. DST must not exist yet (an
existing file is never replaced). With ``--config`` the converted weights are loaded strictly into
the config's model first, so a checkpoint of another K or architecture is refused in one line
naming both files.

What the conversion changes besides names (docs/ganseg.md, "Converting the released models"):

- coordinates: the official points and grids are (row, column), partseg's (x, y) = (column,
  row): the point MLP's output pairs and the positional encodings' input pairs are swapped;
- the positional encodings take ``point - pixel`` in the official code and ``pixel - point`` in
  partseg: their weights change sign (biases stay);
- masks: the official background channel is the last, partseg's the first: the output rows of
  the last mask block are rotated;
- segmenter: mmseg concatenates the ASPP image-pooling branch first, torchvision last: the
  projection's input channels are rotated; ``aux_classifier`` weights (unused by the official
  code) are dropped.

The official ``bg_trans`` noise is (row, column) too: the same sample in partseg has
``bg_position = bg_trans[:, 0, [1, 0]]``.
"""
import argparse
import os
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from partseg.utils.cli import UserError, run_tool  # noqa: E402

CONVERTER = 'tools/model_converters/ganseg_official.py'
StateDict = Dict[str, Tensor]


# ---------------------------------------------------------------------------------------- GAN
def _take(state: StateDict, key: str, source: str) -> Tensor:
    if key not in state:
        raise UserError(f'{source}: the official state dict has no {key!r}; is it a GANSeg '
                        'checkpoint of github xingzhehe/GANSeg?')
    return state[key]


def _swap_pairs(x: Tensor, dim: int) -> Tensor:
    """Swap elements 2i and 2i+1 along ``dim``: (row, column) pairs -> (x, y) pairs."""
    n = x.shape[dim]
    index = torch.arange(n).view(-1, 2).flip(1).reshape(-1)
    return x.index_select(dim, index)


def _count_blocks(state: StateDict, prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r'\.(\d+)\.')
    found = {int(m.group(1)) for key in state for m in [pattern.match(key)] if m}
    if not found or found != set(range(len(found))):
        raise UserError(f'the official state dict has no consecutive {prefix}.N blocks '
                        f'(found {sorted(found)})')
    return len(found)


def _mlp(state: StateDict, official: str, ours: str, source: str) -> StateDict:
    """Official ``[LinearLeakyReLU] * n + [Linear]`` -> ``Linear, LeakyReLU, ..., Linear``."""
    n_hidden = _count_blocks(state, official) - 1
    out = OrderedDict()
    for i in range(n_hidden):
        for p in ('weight', 'bias'):
            out[f'{ours}.{2 * i}.{p}'] = _take(state, f'{official}.{i}.model.0.{p}', source)
    for p in ('weight', 'bias'):
        out[f'{ours}.{2 * n_hidden}.{p}'] = _take(state, f'{official}.{n_hidden}.{p}', source)
    return out


def _norm(state: StateDict, official: str, ours: str, source: str) -> StateDict:
    out = OrderedDict()
    for p in ('running_mean', 'running_var', 'num_batches_tracked'):
        out[f'{ours}.{p}'] = _take(state, f'{official}.{p}', source)
    return out


def _copy(state: StateDict, official: str, ours: str, source: str) -> StateDict:
    return OrderedDict(
        (f'{ours}.{p}', _take(state, f'{official}.{p}', source)) for p in ('weight', 'bias'))


def _spade_block(state: StateDict, official: str, ours: str, source: str) -> StateDict:
    """Official ``SPADEResBlk`` -> :class:`~partseg.models.layers.SPADEResBlock`."""
    out = OrderedDict()
    names = ['spade1', 'spade2']
    if f'{official}.conv_shortcut.weight' in state:
        names.append('spade_shortcut')
    for name in names:
        out.update(_norm(state, f'{official}.{name}.norm', f'{ours}.{name}.norm', source))
        out.update(_copy(state, f'{official}.{name}.conv', f'{ours}.{name}.conv_shared', source))
        for conv in ('conv_gamma', 'conv_beta'):
            out.update(_copy(state, f'{official}.{name}.{conv}', f'{ours}.{name}.{conv}', source))
    for conv in ('conv1', 'conv2') + (('conv_shortcut', ) if len(names) == 3 else ()):
        out.update(_copy(state, f'{official}.{conv}', f'{ours}.{conv}', source))
    return out


def _adain_block(state: StateDict, official: str, ours: str, source: str) -> StateDict:
    """Official ``AdaINResBlk`` -> :class:`~partseg.models.layers.AdaINConvBlock`."""
    out = _norm(state, f'{official}.spade1.norm', f'{ours}.adain.norm', source)
    for theirs, mine in (('conv', 'fc_shared'), ('conv_gamma', 'fc_gamma'), ('conv_beta',
                                                                             'fc_beta')):
        out.update(_copy(state, f'{official}.spade1.{theirs}', f'{ours}.adain.{mine}', source))
    out.update(_copy(state, f'{official}.conv1', f'{ours}.conv', source))
    return out


def _positional_encoding(state: StateDict, official: str, ours: str, source: str) -> StateDict:
    """Official 1x1 conv on ``point - pixel`` (row, col) -> Linear on ``pixel - point`` (x, y)."""
    weight = _take(state, f'{official}.pe.weight', source)  # (C/2, 2N, 1, 1)
    weight = -_swap_pairs(weight.flatten(1), dim=1)  # (C/2, 2N)
    return OrderedDict([(f'{ours}.fc.weight', weight),
                        (f'{ours}.fc.bias', _take(state, f'{official}.pe.bias', source))])


def generator_info(state: StateDict, source: str = 'checkpoint') -> Dict:
    """K, points per part, block count and RGB head of an official generator state dict."""
    num_parts, emb_dim = _take(state, 'keypoints_embedding.weight', source).shape
    num_points = _take(state, 'mask_start.pe.weight', source).shape[1] // 2
    return dict(
        num_parts=int(num_parts),
        n_per=int(num_points // num_parts),
        emb_dim=int(emb_dim),
        num_blocks=_count_blocks(state, 'mask_spade_blocks'),
        rgb_head='conv1x1' if 'conv.2.weight' not in state else 'conv3x3x2')


def convert_generator(state: StateDict, source: str = 'checkpoint') -> StateDict:
    """Official ``Generator`` state dict -> :class:`GANSegGenerator` state dict."""
    info = generator_info(state, source)
    k = info['num_parts']
    out = OrderedDict()
    out['point_generator.part_constants'] = _take(state, 'keypoints_embedding.weight', source)
    points = _mlp(state, 'gen_keypoints_layer', 'point_generator.point_mlp', source)
    last = max(int(key.split('.')[2]) for key in points)
    for p in ('weight', 'bias'):  # (row, col) output pairs -> (x, y)
        key = f'point_generator.point_mlp.{last}.{p}'
        points[key] = _swap_pairs(points[key], dim=0)
    out.update(points)
    out.update(_mlp(state, 'gen_keypoints_embedding_noise', 'point_generator.app_mlp', source))
    out.update(_positional_encoding(state, 'mask_start', 'mask_generator.start', source))
    num_blocks = info['num_blocks']
    for i in range(num_blocks):
        block = _spade_block(state, f'mask_spade_blocks.{i}', f'mask_generator.blocks.{i}', source)
        if i == num_blocks - 1:  # channels (part 1..K, background) -> (background, part 1..K)
            order = torch.tensor([k] + list(range(k)))
            for key in list(block):
                conv = key.split('.')[-2]
                if conv in ('conv2', 'conv_shortcut'):
                    block[key] = block[key].index_select(0, order)
        out.update(block)
    out.update(_positional_encoding(state, 'x_start', 'foreground_generator.start', source))
    for i in range(_count_blocks(state, 'spade_blocks')):
        out.update(
            _spade_block(state, f'spade_blocks.{i}', f'foreground_generator.blocks.{i}', source))
    out.update(_mlp(state, 'gen_background_embedding', 'background_generator.mlp', source))
    out.update(_positional_encoding(state, 'bg_start', 'background_generator.start', source))
    for i in range(_count_blocks(state, 'adain_blocks')):
        out.update(
            _adain_block(state, f'adain_blocks.{i}', f'background_generator.blocks.{i}', source))
    if info['rgb_head'] == 'conv3x3x2':
        out.update(_copy(state, 'conv.0', 'to_rgb.1', source))
        out.update(_copy(state, 'conv.2', 'to_rgb.3', source))
    else:
        out.update(_copy(state, 'conv.0', 'to_rgb.1', source))
    used = {'init_extend_coord'}  # the official fixed margin grid, rebuilt by partseg
    leftover = _unused(state, out, used, _GENERATOR_RENAMES)
    if leftover:
        raise UserError(f'{source}: unexpected keys in the official generator state dict '
                        f'(e.g. {leftover[0]!r}); is it another version of the GANSeg code?')
    return out


# Official key prefixes of the generator, in the order convert_generator consumes them.
_GENERATOR_RENAMES = ('keypoints_embedding.', 'gen_keypoints_layer.',
                      'gen_keypoints_embedding_noise.', 'mask_start.', 'mask_spade_blocks.',
                      'x_start.', 'spade_blocks.', 'gen_background_embedding.', 'bg_start.',
                      'adain_blocks.', 'conv.')


def _unused(state: StateDict, out: StateDict, extra: set, prefixes) -> list:
    """Official keys not accounted for: neither known prefixes' tensors nor ``extra``."""
    expected = sum(1 for key in state if key.startswith(prefixes))
    converted = len(out)
    leftover = [key for key in state if not key.startswith(prefixes) and key not in extra]
    if converted != expected:
        leftover += [f'{expected - converted} tensors under {prefixes}']
    return leftover


def convert_discriminator(state: StateDict, source: str = 'checkpoint') -> StateDict:
    """Official ``Discriminator`` state dict -> :class:`GANSegDiscriminator` state dict."""
    out = OrderedDict()
    for i in range(_count_blocks(state, 'conv')):
        out.update(_copy(state, f'conv.{i}.conv_res', f'blocks.{i}.residual', source))
        out.update(_copy(state, f'conv.{i}.net.0', f'blocks.{i}.main.0', source))
        out.update(_copy(state, f'conv.{i}.net.2', f'blocks.{i}.main.2', source))
        out.update(_copy(state, f'conv.{i}.downsample.0', f'blocks.{i}.main.4', source))
    out.update(_copy(state, 'fc.0', 'head.0', source))
    out.update(_copy(state, 'fc.2', 'head.2', source))
    leftover = _unused(state, out, set(), ('conv.', 'fc.'))
    if leftover:
        raise UserError(f'{source}: unexpected keys in the official discriminator state dict '
                        f'(e.g. {leftover[0]!r})')
    return out


def convert_gan(ckpt: Dict, source: str = 'checkpoint') -> Tuple[StateDict, Dict]:
    """Official GAN checkpoint -> (state dict of partseg's ``GANSeg``, info)."""
    generator, discriminator = ckpt['generator'], ckpt['discriminator']
    info = generator_info(generator, source)
    out = OrderedDict()
    # GANSeg's schedule counters restart at 0 (the official file has no step count); K as a buffer
    out['num_d_steps'] = torch.zeros((), dtype=torch.long)
    out['num_g_steps'] = torch.zeros((), dtype=torch.long)
    out['part_count'] = torch.tensor(info['num_parts'], dtype=torch.long)
    for key, value in convert_generator(generator, source).items():
        out[f'generator.{key}'] = value
    for key, value in convert_discriminator(discriminator, source).items():
        out[f'discriminator.{key}'] = value
    return out, dict(kind='gan', **info)


# ---------------------------------------------------------------------------------- segmenter
_BACKBONE = 'model.backbone.'
_HEAD = 'model.classifier.'
_AUX = 'model.aux_classifier.'
_BN_PARAMS = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


def _head_renames() -> Dict[str, str]:
    """torchvision ``DeepLabHead`` names -> partseg ``ProjectedASPPHead`` names (prefix-less)."""
    names = {}
    for i in range(4):  # 1x1 branch and the three atrous branches
        names[f'0.convs.{i}.0.weight'] = f'aspp_modules.{i}.conv.weight'
        for p in _BN_PARAMS:
            names[f'0.convs.{i}.1.{p}'] = f'aspp_modules.{i}.bn.{p}'
    names['0.convs.4.1.weight'] = 'image_pool.1.conv.weight'  # image pooling branch
    for p in _BN_PARAMS:
        names[f'0.convs.4.2.{p}'] = f'image_pool.1.bn.{p}'
    names['0.project.0.weight'] = 'bottleneck.0.conv.weight'
    names['1.weight'] = 'bottleneck.2.conv.weight'
    for p in _BN_PARAMS:
        names[f'0.project.1.{p}'] = f'bottleneck.0.bn.{p}'
        names[f'2.{p}'] = f'bottleneck.2.bn.{p}'
    names['4.weight'] = 'conv_seg.weight'
    names['4.bias'] = 'conv_seg.bias'
    return names


def convert_segmenter(ckpt: Dict, source: str = 'checkpoint') -> Tuple[StateDict, Dict]:
    """Official segmenter checkpoint (torchvision deeplabv3_resnet50 under ``model.``) ->
    (state dict of the mmseg ``EncoderDecoder`` of ``configs/ganseg/<name>_stage2.py``, info)."""
    state = ckpt['detector']
    out = OrderedDict()
    for key, value in state.items():
        if key.startswith(_BACKBONE):  # mmseg's ResNet uses torchvision's names
            out['backbone.' + key[len(_BACKBONE):]] = value
    names = _head_renames()
    for theirs, mine in names.items():
        out['decode_head.' + mine] = _take(state, _HEAD + theirs, source)
    weight = out['decode_head.bottleneck.0.conv.weight']  # (C, 5C, 1, 1), pooling branch last
    c = weight.shape[0]
    if weight.shape[1] != 5 * c:
        raise UserError(f'{source}: the ASPP projection {tuple(weight.shape)} does not join 5 '
                        f'branches of {c} channels (torchvision DeepLabHead)')
    out['decode_head.bottleneck.0.conv.weight'] = torch.cat([weight[:, 4 * c:], weight[:, :4 * c]],
                                                            1)
    leftover = [
        key for key in state
        if not key.startswith((_BACKBONE, _AUX)) and key[len(_HEAD):] not in names
    ]
    if leftover:
        raise UserError(f'{source}: unexpected keys in the official segmenter state dict (e.g. '
                        f'{leftover[0]!r}); is it torchvision deeplabv3_resnet50?')
    num_classes = int(out['decode_head.conv_seg.weight'].shape[0])
    return out, dict(kind='segmenter', num_parts=num_classes - 1)


# ------------------------------------------------------------------------------------- driver
def convert(ckpt, source: str = 'checkpoint') -> Tuple[StateDict, Dict]:
    """An official GANSeg checkpoint (GAN or segmenter, told by its keys) -> (state dict, info)."""
    if isinstance(ckpt, dict) and isinstance(ckpt.get('generator'), dict) \
            and isinstance(ckpt.get('discriminator'), dict):
        return convert_gan(ckpt, source)
    if isinstance(ckpt, dict) and isinstance(ckpt.get('detector'), dict) \
            and any(str(k).startswith(_BACKBONE) for k in ckpt['detector']):
        return convert_segmenter(ckpt, source)
    found = sorted(map(str, ckpt))[:6] if isinstance(ckpt, dict) else type(ckpt).__name__
    raise UserError(f'{source} is not a checkpoint of the official GANSeg code: expected '
                    "'generator' and 'discriminator' (GAN, train_gan.py) or 'detector' with "
                    f"'model.backbone.*' (segmenter, train_seg.py), found {found}")


def check_fits_config(state: StateDict, info: Dict, config: str, source: str) -> None:
    """Load ``state`` strictly into the model of ``config``; one line naming both on failure."""
    from mmengine.registry import DefaultScope

    from partseg.registry import MODELS
    from partseg.utils.cli import load_config
    cfg = load_config(config)
    if 'model' not in cfg:
        raise UserError(f'config {config} has no model')
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'partseg')):
        model = MODELS.build(cfg.model)
    own = model.state_dict()
    kind = 'GAN' if info['kind'] == 'gan' else 'segmenter'
    what = f'{source} (official {kind}, K={info["num_parts"]})'
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if len(missing) == len(own) or (unexpected and len(unexpected) == len(state)):
        expected = 'a stage-1 config' if kind == 'GAN' else 'a *_stage2.py config'
        raise UserError(f'{what} does not fit {config}: none of its weights belong to that '
                        f'model (a {kind} needs {expected})')
    for key, value in own.items():
        if key in state and tuple(state[key].shape) != tuple(value.shape):
            raise UserError(f'{what} does not fit {config}: {key} is '
                            f'{tuple(state[key].shape)} in the checkpoint but {tuple(value.shape)} '
                            'in the model (another K or architecture)')
    if missing or unexpected:
        raise UserError(f'{what} does not fit {config}: {len(missing)} missing keys (e.g. '
                        f'{missing[:1]}), {len(unexpected)} unexpected (e.g. {unexpected[:1]}); '
                        'another architecture (number of blocks, RGB head)?')
    model.load_state_dict(state, strict=True)


def save_new(obj, dst: str) -> None:
    """Write ``obj`` to ``dst`` through a temporary file; refuse to replace an existing file."""
    if osp.exists(dst):
        raise UserError(f'{dst} exists already; give a new file name (nothing was written)')
    folder = osp.dirname(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{osp.basename(dst)}.{os.getpid()}.tmp')
    try:
        torch.save(obj, tmp)
        if osp.exists(dst):
            raise UserError(f'{dst} appeared while converting; nothing was replaced')
        os.replace(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official GANSeg checkpoint (GAN or segmenter) to partseg')
    parser.add_argument('src', help="the official epoch_N.model file")
    parser.add_argument('dst', help='the partseg checkpoint to write (must not exist)')
    parser.add_argument(
        '--config',
        help='check that the weights load strictly into this config\'s model '
        '(configs/ganseg/<name>.py for a GAN, <name>_stage2.py for a segmenter)')
    return parser.parse_args(argv)


def main(argv: Optional[list] = None) -> int:
    args = parse_args(argv)
    from partseg.engine.checkpoint import safe_load
    if osp.abspath(args.src) == osp.abspath(args.dst):
        raise UserError('SRC and DST are the same file; give a new file name for DST')
    if osp.exists(args.dst):
        raise UserError(f'{args.dst} exists already; give a new file name (nothing was written)')
    ckpt = safe_load(args.src, map_location='cpu')
    state, info = convert(ckpt, args.src)
    if args.config:
        check_fits_config(state, info, args.config, args.src)
    meta = dict(
        source=osp.basename(args.src),
        converter=CONVERTER,
        official_code='github.com/xingzhehe/GANSeg',
        **info)
    if args.config:
        meta['config'] = args.config
    save_new(dict(state_dict=state, meta=meta), args.dst)
    print(f'{args.dst}: official GANSeg {info["kind"]}, K={info["num_parts"]}, '
          f'{len(state)} tensors' + (f', loads strictly into {args.config}' if args.config else ''))
    return 0


if __name__ == '__main__':
    run_tool(main)
