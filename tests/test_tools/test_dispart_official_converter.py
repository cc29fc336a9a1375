"""tools/model_converters/dispart_official.py: official SCOPSP checkpoints -> partseg.

The official checkpoints are written here in the official key layout (network/scopsplus.py of
the official code: content_encoder / pose_encoder.base / pose_encoder.conv / generator, whose
seven conv blocks and final conv are stored twice, as generator.conv<i>_<j> and
generator.conv_layers.<n>), from a partseg model's weights by the inverse mapping below; then
convert -> strict load -> forward must give that model's outputs.
"""
import importlib.util
import json
import os.path as osp
import pickle
import warnings

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from partseg.engine.checkpoint import CheckpointError, safe_load
from partseg.registry import MODELS
from partseg.utils.cli import UserError, run_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODEL_BASE = osp.join(ROOT, 'configs', '_base_', 'models', 'dispart_official.py')
K = 4
GENERATOR_BLOCKS = ('conv1_1', 'conv1_2', 'conv2_1', 'conv2_2', 'conv3_1', 'conv3_2', 'conv4_1')
# state-dict entries of the official SCOPSP(dim=5, h_channel=32, downsamplelast=True): 368,
# of which 102 under generator. (51 of them the conv_layers copies)
OFFICIAL_NUM_KEYS = 368


def load_converter():
    path = osp.join(ROOT, 'tools', 'model_converters', 'dispart_official.py')
    spec = importlib.util.spec_from_file_location('dispart_official', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


converter = load_converter()


@pytest.fixture(autouse=True)
def partseg_scope():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    with DefaultScope.overwrite_default_scope('partseg'):
        yield
    torch.set_num_threads(threads)


def build_model(seed: int):
    torch.manual_seed(seed)
    cfg = Config.fromfile(MODEL_BASE).model
    cfg.num_parts = K
    cfg.classification_loss.num_classes = K + 1
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # random VGG
        model = MODELS.build(cfg)
    for m in model.modules():  # non-trivial BN statistics and affine parameters
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.2)
            m.num_batches_tracked.fill_(seed + 3)
    return model.eval()


def official_layout(state_dict):
    """A partseg DisPart state dict in the official SCOPSP key layout (network only)."""
    out = {}
    for key, value in state_dict.items():
        if key.startswith(('reconstruction_loss.', 'classification_loss.')):
            continue  # the official checkpoint holds SCOPSP only
        head, _, rest = key.partition('.')
        if head == 'appearance_encoder':
            out['content_encoder.' + rest] = value
        elif head == 'shape_encoder':
            out['pose_encoder.base.' + rest] = value
        elif head == 'part_head':
            out['pose_encoder.conv.' + rest] = value
        elif key.startswith('decoder.blocks.'):
            index, _, tail = key[len('decoder.blocks.'):].partition('.')
            out[f'generator.{GENERATOR_BLOCKS[int(index)]}.block.{tail}'] = value
            out[f'generator.conv_layers.{index}.block.{tail}'] = value.clone()
        elif key.startswith('decoder.final_conv.'):
            out['generator.final_conv.' + key[len('decoder.final_conv.'):]] = value
            out['generator.conv_layers.7.' + key[len('decoder.final_conv.'):]] = value.clone()
        else:
            raise AssertionError(f'unmapped partseg key {key}')
    return out


@pytest.fixture(scope='module')
def source():
    with DefaultScope.overwrite_default_scope('partseg'):
        model = build_model(seed=1)
    return model, official_layout(model.state_dict())


def save_official(path, state_dict, **extra):
    torch.save(dict(epoch=7, state_dict=state_dict, loss=0.125, **extra), path)
    return str(path)


def test_round_trip_strict_load_and_same_outputs(source, tmp_path):
    model, official = source
    assert len(official) == OFFICIAL_NUM_KEYS
    src = save_official(tmp_path / 'ep7.pkl', official)
    dst = str(tmp_path / 'out' / 'converted.pth')
    meta = converter.convert(src, dst)
    checkpoint = safe_load(dst)  # weights-only
    assert set(checkpoint) == {'state_dict', 'meta'}
    assert checkpoint['meta'] == meta
    json.dumps(meta)  # plain data
    assert meta['num_parts'] == K and meta['official_epoch'] == 7
    assert meta['not_converted'] == ['classification_loss', 'reconstruction_loss']
    fresh = build_model(seed=2)
    fresh.load_state_dict(checkpoint['state_dict'], strict=True)
    fresh.eval()
    x = torch.rand(1, 3, 64, 64)
    y = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        maps_ref, feats_ref = model.encode(x)
        maps, feats = fresh.encode(x)
        torch.testing.assert_close(maps, maps_ref, rtol=0, atol=0)
        torch.testing.assert_close(feats, feats_ref, rtol=0, atol=0)
        y_maps, _ = model.encode(y)
        torch.testing.assert_close(
            fresh.render(feats, y_maps, (64, 64)), model.render(feats_ref, y_maps, (64, 64)))
    assert maps.shape == (1, K + 1, 8, 8)  # output stride 8
    # a bare SCOPSP state dict is read the same
    bare = str(tmp_path / 'bare.pkl')
    torch.save(official, bare)
    state_dict, extras = converter.read_official(bare)
    assert extras == {} and state_dict.keys() == official.keys()


def test_cli_and_existing_destination_kept(source, tmp_path, capsys):
    _, official = source
    src = save_official(tmp_path / 'ep7.pkl', official)
    dst = tmp_path / 'converted.pth'
    dst.write_bytes(b'an earlier result')
    with pytest.raises(SystemExit) as exit_info:
        run_tool(converter.main, [src, str(dst)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and '--overwrite' in err and str(dst) in err
    assert dst.read_bytes() == b'an earlier result'
    with pytest.raises(SystemExit) as exit_info:
        run_tool(converter.main, [src, str(dst), '--overwrite'])
    assert exit_info.value.code == 0
    assert 'K = 4' in capsys.readouterr().out
    assert safe_load(str(dst))['meta']['num_parts'] == K


def _edit(official, drop=(), add=None, change=None):
    edited = dict(official)
    for key in drop:
        edited.pop(key)
    edited.update(add or {})
    edited.update(change or {})
    return edited


@pytest.mark.parametrize('edit, message', [
    (lambda o: _edit(o, add={'generator.extra.weight': torch.zeros(1)}),
     "unexpected key 'generator.extra.weight'"),
    (lambda o: _edit(o, drop=('content_encoder.layer1.0.conv1.weight', )), 'no weights for '
     "'appearance_encoder.layer1.0.conv1.weight'"),
    (lambda o: _edit(o, change={'generator.conv1_1.block.0.weight': torch.zeros(3, 3)}),
     "differs from the other copy of 'decoder.blocks.0.0.weight'"),
    (lambda o: _edit(
        o,
        change={
            'generator.conv1_1.block.0.weight': torch.zeros(128, 258, 3, 3),
            'generator.conv_layers.0.block.0.weight': torch.zeros(128, 258, 3, 3)
        }), "has shape (128, 258, 3, 3)"),
    (lambda o: _edit(o, drop=('pose_encoder.conv.weight', )), 'no pose_encoder.conv.weight'),
    (lambda o: _edit(o, change={'pose_encoder.conv.weight': 'text'}),
     "'pose_encoder.conv.weight' is not a named tensor"),
])
def test_bad_checkpoints_one_line_errors(source, tmp_path, edit, message):
    _, official = source
    src = save_official(tmp_path / 'bad.pkl', edit(official))
    dst = tmp_path / 'converted.pth'
    with pytest.raises((UserError, ValueError)) as error:
        converter.convert(src, str(dst))
    assert message in str(error.value) and src in str(error.value)
    assert '\n' not in str(error.value)
    assert not dst.exists()


class _Payload:

    def __reduce__(self):
        return (print, ('executed', ))


def test_unsafe_and_damaged_files_refused(tmp_path, capsys):
    unsafe = tmp_path / 'unsafe.pkl'
    torch.save({'state_dict': {}, 'hook': _Payload()}, str(unsafe))
    with pytest.raises(CheckpointError, match='refusing to load checkpoint'):
        converter.convert(str(unsafe), str(tmp_path / 'a.pth'))
    assert 'executed' not in capsys.readouterr().out
    damaged = tmp_path / 'damaged.pkl'
    damaged.write_bytes(b'not a checkpoint')
    with pytest.raises(CheckpointError, match='damaged.pkl'):
        converter.convert(str(damaged), str(tmp_path / 'b.pth'))
    not_dict = tmp_path / 'list.pkl'
    torch.save([torch.zeros(1)], str(not_dict))
    with pytest.raises(UserError, match='list.pkl: not an official DisPart checkpoint'):
        converter.convert(str(not_dict), str(tmp_path / 'c.pth'))
    with pytest.raises(SystemExit):
        run_tool(converter.main, [str(tmp_path / 'missing.pkl'), str(tmp_path / 'd.pth')])
    assert 'checkpoint not found' in capsys.readouterr().err
    assert pickle  # the payload above is never unpickled


def test_config_with_another_k_refused(source, tmp_path):
    _, official = source
    src = save_official(tmp_path / 'ep7.pkl', official)
    config = osp.join(ROOT, 'configs', 'dispart', 'celeba_wild_k8_official.py')
    with pytest.raises(UserError, match='model.num_parts = 8 but the checkpoint has K = 4'):
        converter.convert(src, str(tmp_path / 'x.pth'), config=config)


def test_key_mapping_names_every_official_block():
    assert converter.official_to_partseg_key('generator.conv3_2.block.1.running_var') == \
        'decoder.blocks.5.1.running_var'
    assert converter.official_to_partseg_key('generator.conv_layers.6.block.0.bias') == \
        'decoder.blocks.6.0.bias'
    assert converter.official_to_partseg_key('generator.conv_layers.7.weight') == \
        'decoder.final_conv.weight'
    assert converter.official_to_partseg_key('pose_encoder.base.layer3.1.bn2.weight') == \
        'shape_encoder.layer3.1.bn2.weight'
    assert converter.official_to_partseg_key('generator.conv_layers.8.weight') is None
    assert converter.official_to_partseg_key('interp.weight') is None
