"""Convert an official DisPart checkpoint to partseg: ``dispart_official.py SRC DST``.

SRC is an ``ep<N>.pkl`` / ``test_best.pkl`` written by the official code's ``train_SCOPSP.py``
(github SlongLiu/UnsupKeypointsParts): ``{'epoch', 'state_dict': SCOPSP.state_dict(), 'loss'}``
(a bare ``SCOPSP.state_dict()`` is accepted too). It is read weights-only (nothing in it is
executed). DST is a partseg checkpoint, ``{'state_dict', 'meta'}``, that loads strictly into the
model of ``configs/_base_/models/dispart_official.py`` with K taken from SRC (the official ``dim``
is K + 1), i.e. into every ``configs/dispart/*_official.py`` of that K:

    python tools/model_converters/dispart_official.py ep30.pkl work_dirs/dispart_ep30.pth
    python tools/test.py configs/dispart/celeba_wild_k8_official.py work_dirs/dispart_ep30.pth

Key mapping: ``content_encoder.*`` -> ``appearance_encoder.*``, ``pose_encoder.base.*`` ->
``shape_encoder.*``, ``pose_encoder.conv.*`` -> ``part_head.*``, ``generator.conv{i}_{j}.block.*``
(also stored as ``generator.conv_layers.<n>.block.*``) -> ``decoder.blocks.<n>.*``,
``generator.final_conv.*`` -> ``decoder.final_conv.*``.

The official checkpoint holds the network only. The loss modules' state of DST is that of a
freshly built model, as the official code starts it when resuming: the ArcFace class basis
(Xavier), the perceptual layer weights at their initial values, and the VGG-19 of ``--vgg19``
(a torchvision ``vgg19`` state_dict; without it the VGG is random and DST is fit for testing and
inference, which do not use it, but not for training on). ``meta['not_converted']`` lists them.
"""
import argparse
import io
import os
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from partseg.utils.cli import UserError, run_tool  # noqa: E402

MODEL_BASE = osp.join(ROOT, 'configs', '_base_', 'models', 'dispart_official.py')

# official MyGenerator block names in forward order (conv_layers holds the same modules)
GENERATOR_BLOCKS = ('conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1', 'conv3_2', 'conv4_1')
_PREFIXES = (('content_encoder.', 'appearance_encoder.'), ('pose_encoder.base.', 'shape_encoder.'),
             ('pose_encoder.conv.', 'part_head.'), ('generator.final_conv.', 'decoder.final_conv.'))
_BLOCK_KEY = re.compile(r'^generator\.(?:(conv\d_\d)|conv_layers\.(\d+))\.(.+)$')
_PART_HEAD_WEIGHT = 'pose_encoder.conv.weight'
# partseg keys the official checkpoint does not hold: the loss modules' state
NOT_CONVERTED = ('reconstruction_loss.', 'classification_loss.')


def official_to_partseg_key(key: str) -> Optional[str]:
    """The partseg name of an official SCOPSP state-dict key, or None if it has none."""
    for old, new in _PREFIXES:
        if key.startswith(old):
            return new + key[len(old):]
    found = _BLOCK_KEY.match(key)
    if found is None:
        return None
    name, index, rest = found.groups()
    if name is not None:
        if name not in GENERATOR_BLOCKS:
            return None
        index = GENERATOR_BLOCKS.index(name)
    else:
        index = int(index)
        if index == len(GENERATOR_BLOCKS):  # conv_layers[7] is final_conv
            return 'decoder.final_conv.' + rest
        if index > len(GENERATOR_BLOCKS):
            return None
    if not rest.startswith('block.'):
        return None
    return f'decoder.blocks.{index}.{rest[len("block."):]}'


def read_official(path: str) -> Tuple[Dict, Dict]:
    """(SCOPSP state dict, plain-data extras such as the epoch) of the official file ``path``."""
    import torch

    from partseg.engine.checkpoint import safe_load
    checkpoint = safe_load(path, map_location='cpu')
    if not isinstance(checkpoint, dict):
        raise UserError(f'{path}: not an official DisPart checkpoint (a dict with a state_dict), '
                        f'got a {type(checkpoint).__name__}')
    if 'state_dict' in checkpoint:
        state_dict = checkpoint['state_dict']
        extras = {
            k: v
            for k, v in checkpoint.items()
            if k in ('epoch', 'loss') and isinstance(v, (int, float))
        }
    else:
        state_dict, extras = checkpoint, {}
    if not isinstance(state_dict, dict) or not state_dict:
        raise UserError(f'{path}: its state_dict is empty or not a dict')
    for key, value in state_dict.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise UserError(f'{path}: state_dict entry {key!r} is not a named tensor')
    if _PART_HEAD_WEIGHT not in state_dict:
        raise UserError(f'{path}: no {_PART_HEAD_WEIGHT} (the part head): not a checkpoint of the '
                        f'official SCOPSP model')
    return state_dict, extras


def convert_state_dict(state_dict: Dict, path: str = 'SRC') -> 'OrderedDict':
    """Official SCOPSP keys -> partseg DisPart keys; one-line errors name ``path`` and the key."""
    import torch
    converted = OrderedDict()
    for key, value in state_dict.items():
        new = official_to_partseg_key(key)
        if new is None:
            raise UserError(f'{path}: unexpected key {key!r}: not a parameter or buffer of the '
                            f'official SCOPSP model (content_encoder, pose_encoder, generator)')
        if new in converted:  # generator.conv1_1.* and generator.conv_layers.0.* are one module
            if converted[new].shape != value.shape or not torch.equal(converted[new], value):
                raise UserError(f'{path}: {key!r} differs from the other copy of {new!r} '
                                f'(generator.conv_layers and generator.conv*_* share modules)')
            continue
        converted[new] = value
    return converted


def build_model(num_parts: int, config: Optional[str], vgg19: Optional[str], device=None):
    """The partseg model DST is for: ``config``'s (default: the official model base) with K."""
    from mmengine.config import Config

    import partseg.models  # noqa: F401  (registers DisPart and its parts)
    from partseg.registry import MODELS
    cfg = Config.fromfile(config or MODEL_BASE)
    model_cfg = cfg.model
    if config is None:
        model_cfg.num_parts = num_parts
        model_cfg.classification_loss.num_classes = num_parts + 1
    elif model_cfg.get('num_parts') != num_parts:
        raise UserError(f'{config}: model.num_parts = {model_cfg.get("num_parts")} but the '
                        f'checkpoint has K = {num_parts} parts (pose_encoder.conv has K + 1 '
                        f'outputs)')
    model_cfg.reconstruction_loss.pretrained = vgg19
    if device is None:
        return MODELS.build(model_cfg)
    import warnings

    import torch
    with warnings.catch_warnings(), torch.device(device):
        warnings.simplefilter('ignore', UserWarning)  # the random-VGG warning of a shape check
        return MODELS.build(model_cfg)


def convert(src: str,
            dst: str,
            config: Optional[str] = None,
            vgg19: Optional[str] = None,
            overwrite: bool = False) -> Dict:
    """Convert ``src`` and write ``dst``; returns the meta written."""
    import torch

    from partseg.engine.atomic_local_backend import AtomicLocalBackend
    if osp.exists(dst) and not overwrite:
        raise UserError(f'{dst} exists; pass --overwrite to replace it')
    official, extras = read_official(src)
    num_parts = official[_PART_HEAD_WEIGHT].shape[0] - 1
    if num_parts < 1:
        raise UserError(f'{src}: {_PART_HEAD_WEIGHT} has {num_parts + 1} outputs; DisPart needs '
                        f'the background and at least one part')
    converted = convert_state_dict(official, src)
    # names and shapes first, on the meta device (no memory, no init, no VGG loading)
    target = build_model(num_parts, config, None, device='meta').state_dict()
    missing = [k for k in target if k not in converted and not k.startswith(NOT_CONVERTED)]
    if missing:
        raise UserError(f'{src}: no weights for {missing[0]!r} ({len(missing)} keys missing): '
                        f'not a complete SCOPSP(downsamplelast=True, h_channel=32) checkpoint')
    for key, value in converted.items():
        if key not in target:
            raise UserError(f'{src}: {key!r} has no counterpart in the partseg model '
                            f'(a SCOPSP of another architecture?)')
        if tuple(value.shape) != tuple(target[key].shape):
            raise UserError(f'{src}: {key!r} has shape {tuple(value.shape)}, the partseg model '
                            f'expects {tuple(target[key].shape)} (another h_channel or backbone?)')
    model = build_model(num_parts, config, vgg19)
    state_dict = OrderedDict(
        (k, converted.get(k, v).clone()) for k, v in model.state_dict().items())
    model.load_state_dict(state_dict, strict=True)
    not_converted: List[str] = sorted({k.split('.')[0] for k in target if k not in converted})
    meta = dict(
        converted_from=osp.basename(src),
        source='official DisPart code (SlongLiu/UnsupKeypointsParts), SCOPSP',
        num_parts=int(num_parts),
        config=osp.relpath(config or MODEL_BASE, ROOT),
        not_converted=not_converted,
        vgg19=None if vgg19 is None else osp.basename(vgg19),
        **{
            f'official_{k}': v
            for k, v in extras.items()
        })
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    # written to a temporary file and renamed: an interrupted run leaves no torn DST

    buffer = io.BytesIO()
    torch.save(dict(state_dict=state_dict, meta=meta), buffer)
    AtomicLocalBackend().put(buffer.getvalue(), dst)
    return meta


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert an official DisPart (SCOPSP) checkpoint to a partseg checkpoint.')
    parser.add_argument('src', help='official checkpoint (ep<N>.pkl / test_best.pkl)')
    parser.add_argument('dst', help='partseg checkpoint to write (.pth)')
    parser.add_argument(
        '--config',
        help='partseg config whose model DST is for (default: '
        'configs/_base_/models/dispart_official.py with the checkpoint\'s K)')
    parser.add_argument(
        '--vgg19',
        help='torchvision VGG-19 state_dict (vgg19-dcbb9e9d.pth) for the perceptual loss in DST; '
        'needed only to train on from DST')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing DST')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.src):
        raise UserError(f'checkpoint not found: {args.src}')
    if args.config is not None and not osp.isfile(args.config):
        raise UserError(f'config not found: {args.config}')
    meta = convert(args.src, args.dst, args.config, args.vgg19, args.overwrite)
    print(f'wrote {args.dst}: K = {meta["num_parts"]}, loads strictly into {meta["config"]}' +
          ('' if args.vgg19 else '; its VGG-19 is random (--vgg19 to train on from it)'))


if __name__ == '__main__':
    run_tool(main)
