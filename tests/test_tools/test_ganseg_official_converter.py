"""tools/model_converters/ganseg_official.py: official GANSeg checkpoints -> partseg.

The official state dicts are built from a table of names and shapes written from the official code
(github xingzhehe/GANSeg, models/generator.py and discriminator.py; torchvision's
deeplabv3_resnet50 for the segmenter), not through the converter's own mapping.
"""
import importlib.util
import math
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from partseg.models.layers import margin_grid
from partseg.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'model_converters', 'ganseg_official.py')
CONFIGS = osp.join(ROOT, 'configs', 'ganseg')


def load_tool():
    spec = importlib.util.spec_from_file_location('partseg_tool_ganseg_official', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


conv = load_tool()


# ------------------------------------------------------------ the official layout (names, shapes)
def _linear(name, n_out, n_in):
    return [(f'{name}.weight', (n_out, n_in)), (f'{name}.bias', (n_out, ))]


def _conv(name, n_out, n_in, k=3):
    return [(f'{name}.weight', (n_out, n_in, k, k)), (f'{name}.bias', (n_out, ))]


def _bn(name, n):
    return [(f'{name}.running_mean', (n, )), (f'{name}.running_var', (n, )),
            (f'{name}.num_batches_tracked', ())]


def _official_mlp(name, z, n_out, n_hidden):
    """``[LinearLeakyReLU(z, z)] * n_hidden + [Linear(z, n_out)]`` (LinearLeakyReLU.model.0)."""
    rows = []
    for i in range(n_hidden):
        rows += _linear(f'{name}.{i}.model.0', z, z)
    return rows + _linear(f'{name}.{n_hidden}', n_out, z)


def _official_spade_resblk(name, c_in, c_out, emb):
    """``SPADEResBlk``: SPADE (BN without affine, conv E->128, conv_gamma / conv_beta 128->C)."""
    mid = min(c_in, c_out)
    rows = []
    spades = [('spade1', c_in),
              ('spade2', mid)] + ([('spade_shortcut', c_in)] if c_in != c_out else [])
    for spade, c in spades:
        rows += _bn(f'{name}.{spade}.norm', c) + _conv(f'{name}.{spade}.conv', 128, emb)
        rows += _conv(f'{name}.{spade}.conv_gamma', c, 128)
        rows += _conv(f'{name}.{spade}.conv_beta', c, 128)
    rows += _conv(f'{name}.conv1', mid, c_in) + _conv(f'{name}.conv2', c_out, mid)
    if c_in != c_out:
        rows += _conv(f'{name}.conv_shortcut', c_out, c_in)
    return rows


def _official_adain_resblk(name, c_in, c_out, emb):
    rows = _bn(f'{name}.spade1.norm', c_in) + _linear(f'{name}.spade1.conv', 128, emb)
    rows += _linear(f'{name}.spade1.conv_gamma', c_in, 128)
    rows += _linear(f'{name}.spade1.conv_beta', c_in, 128)
    return rows + _conv(f'{name}.conv1', c_out, c_in)


def official_generator_layout(k, n_per, z, emb, mask, fg, bg, first_size, single_final):
    """Names and shapes of the official ``Generator`` state dict; ``mask``, ``fg``, ``bg`` list
    each block's (in, out) channels (official: mask 512 -> E ... -> K+1, fg / bg 512 -> ... -> E).
    """
    c0 = mask[0][0]
    rows = [('init_extend_coord', (1, (first_size + 20)**2, 2)),
            ('keypoints_embedding.weight', (k, emb))]
    rows += _official_mlp('gen_keypoints_embedding_noise', z, emb, 3)
    rows += _official_mlp('gen_keypoints_layer', z, 2 * k * n_per, 4)
    rows += _official_mlp('gen_background_embedding', z, emb, 3)
    for i, (c_in, c_out) in enumerate(mask):
        rows += _official_spade_resblk(f'mask_spade_blocks.{i}', c_in, c_out, emb)
    for i, (c_in, c_out) in enumerate(fg):
        rows += _official_spade_resblk(f'spade_blocks.{i}', c_in, c_out, emb)
    for i, (c_in, c_out) in enumerate(bg):
        rows += _official_adain_resblk(f'adain_blocks.{i}', c_in, c_out, emb)
    rows += _conv('x_start.pe', c0 // 2, 2 * k, 1) + _conv('mask_start.pe', c0 // 2, 2 * k * n_per,
                                                           1)
    rows += _conv('bg_start.pe', c0 // 2, 2, 1)
    if single_final:
        rows += _conv('conv.0', 3, emb, 1)
    else:
        rows += _conv('conv.0', emb, emb) + _conv('conv.2', 3, emb)
    return OrderedDict(rows)


def official_discriminator_layout(channels, fc_in, fc_hidden=512):
    rows, c_in = [], 3
    for i, c in enumerate(channels):
        rows += _conv(f'conv.{i}.conv_res', c, c_in, 1) + _conv(f'conv.{i}.net.0', c, c_in)
        rows += _conv(f'conv.{i}.net.2', c, c) + _conv(f'conv.{i}.downsample.0', c, c)
        c_in = c
    return OrderedDict(rows + _linear('fc.0', fc_hidden, fc_in) + _linear('fc.2', 1, fc_hidden))


def official_gan_layout(k, six_blocks, single_final):
    """The released models' architecture (the official code's branch for CelebA, Taichi, CUB and
    Flowers; parameters.json: z 256, E 64, 4 points per part)."""
    e = 64
    if six_blocks:
        mask = [(512, e)] + [(e, e)] * 4 + [(e, k + 1)]
        fg = [(512, 256), (256, 256), (256, 128), (128, 128), (128, e), (e, e)]
    else:
        mask = [(512, e), (e, e), (e, e), (e, k + 1)]
        fg = [(512, 256), (256, 128), (128, e), (e, e)]
    generator = official_generator_layout(k, 4, 256, e, mask, fg, fg, 32, single_final)
    discriminator = official_discriminator_layout((64, 128, 256, 512, 512, 512), 2 * 2 * 512)
    return generator, discriminator


def random_state(layout, seed=0):
    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in layout.items():
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(7)
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.05
    return state


def build(cfg_model):
    with DefaultScope.overwrite_default_scope('partseg'):
        return MODELS.build(cfg_model)


# ------------------------------------------------------------------------------ released models
@pytest.mark.parametrize('name,k,six_blocks,single_final', [
    ('celeba_wild_k8', 8, False, False),
    ('cub_k8', 8, True, False),
    ('flowers_k8', 8, True, True),
    ('taichi_k10', 10, False, False),
])
def test_official_gan_layout_loads_strictly_into_the_table_config(name, k, six_blocks,
                                                                  single_final):
    generator, discriminator = official_gan_layout(k, six_blocks, single_final)
    ckpt = dict(
        generator=random_state(generator),
        discriminator=random_state(discriminator),
        optim_gen={},
        optim_disc={})
    state, info = conv.convert(ckpt, 'epoch_29.model')
    assert info['kind'] == 'gan' and info['num_parts'] == k
    model = build(Config.fromfile(osp.join(CONFIGS, f'{name}.py')).model)
    model.load_state_dict(state, strict=True)
    assert int(model.part_count) == k


# ----------------------------------------------------------------------- tiny GAN: convert + run
K = 3
TINY_MASK = [(16, 8), (8, 8), (8, 8), (8, K + 1)]
TINY_FG = [(16, 12), (12, 8), (8, 8), (8, 8)]
TINY_GENERATOR = dict(
    type='GANSegGenerator',
    num_parts=K,
    n_per=4,
    z_dim=16,
    emb_dim=8,
    spade_hidden=128,
    adain_hidden=128,
    feature_map_sizes=(4, 4, 8, 16),
    mask_channels=(16, 8, 8, 8),
    fg_channels=(16, 12, 8, 8),
    bg_channels=(16, 12, 8, 8),
    point_mlp_layers=5,
    app_mlp_layers=4,
    bg_mlp_layers=4,
    scale_type='mean_abs',
    heatmap_type='linear',
    bg_position_mode='horizontal',
    grid_type='linspace',
    margin=10)
TINY_GAN = dict(
    type='GANSeg',
    generator=TINY_GENERATOR,
    discriminator=dict(type='GANSegDiscriminator', channels=(8, 8), image_size=16, fc_channels=512),
    gp_loss=dict(type='GradientPenaltyLoss', loss_weight=10.0, center=1.0),
    con_loss=dict(
        type='GeometricConcentrationLoss', loss_weight_per_part=1.25, part_reduction='mean'),
    area_loss=dict(type='AreaLoss', min_area='point_spread'))


def tiny_official(seed=0):
    generator = official_generator_layout(K, 4, 16, 8, TINY_MASK, TINY_FG, TINY_FG, 4, False)
    discriminator = official_discriminator_layout((8, 8), 8 * 4 * 4)
    return dict(
        generator=random_state(generator, seed),
        discriminator=random_state(discriminator, seed + 1))


def noise(batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return dict(
        z_point=torch.randn(batch, 16, generator=gen),
        z_app=torch.randn(batch, 16, generator=gen),
        z_bg=torch.randn(batch, 16, generator=gen),
        bg_position=torch.rand(batch, 2, generator=gen) * 2 - 1)


def converted_tiny(ckpt):
    state, _ = conv.convert(ckpt, 'tiny.model')
    model = build(TINY_GAN)
    model.load_state_dict(state, strict=True)
    return model.eval()


def test_tiny_gan_converts_loads_and_runs():
    model = converted_tiny(tiny_official())
    with torch.no_grad():
        out = model.generator(noise())
        logits = model.discriminator(out['image'])
    assert out['image'].shape == (2, 3, 16, 16) and out['masks'].shape == (2, K + 1, 16, 16)
    assert torch.isfinite(out['image']).all() and logits.shape == (2, 1)
    torch.testing.assert_close(out['masks'].sum(1), torch.ones(2, 16, 16))


def test_background_channel_moves_first():
    """The official background is the last mask channel; partseg's is channel 0."""
    ckpt = tiny_official()
    g = ckpt['generator']
    for key in ('mask_spade_blocks.3.conv2.bias', 'mask_spade_blocks.3.conv_shortcut.bias'):
        g[key] = torch.zeros(K + 1)
        g[key][K] = 50.0  # official background logit
    with torch.no_grad():
        masks = converted_tiny(ckpt).generator(noise())['masks']
    assert masks[:, 0].min() > 0.99


def test_points_change_from_row_column_to_xy():
    """Official points are (row, column) pairs; partseg's (x, y) = (column, row)."""
    ckpt = tiny_official()
    g = ckpt['generator']
    g['gen_keypoints_layer.4.weight'] = torch.zeros(2 * K * 4, 16)
    rows_cols = torch.randn(K * 4, 2)  # official (row, column) of each point before tanh(./20)
    g['gen_keypoints_layer.4.bias'] = rows_cols.reshape(-1) * 20
    with torch.no_grad():
        points = converted_tiny(ckpt).generator.point_generator(
            torch.randn(2, 16), torch.randn(2, 16))['points']  # (B, K, 4, 2) as (x, y)
    expected = torch.tanh(rows_cols).flip(-1).view(K, 4, 2)
    torch.testing.assert_close(points, expected.expand(2, -1, -1, -1))


def test_positional_encoding_sign_and_order():
    """Official start tensor: sin(π(W·(point - pixel) + b)) over (row, column); hand values."""
    ckpt = tiny_official()
    g = ckpt['generator']
    weight = torch.zeros(8, 2, 1, 1)
    weight[0, 1] = 1.0  # channel 0: the column difference point - pixel
    weight[1, 0] = 1.0  # channel 1: the row difference
    g['bg_start.pe.weight'] = weight
    g['bg_start.pe.bias'] = torch.full((8, ), 0.25)
    start = converted_tiny(ckpt).generator.background_generator.start
    position = torch.tensor([[0.3, 0.0]])  # x = 0.3 (horizontal background: y = 0)
    grid = margin_grid(4, 4, 10, 'linspace')  # (24, 24, 2) (x, y)
    with torch.no_grad():
        out = start(position[:, None], grid)  # (1, 16, 24, 24)
    xs, ys = grid[..., 0], grid[..., 1]
    torch.testing.assert_close(out[0, 0], torch.sin(math.pi * (0.3 - xs + 0.25)))
    torch.testing.assert_close(out[0, 1], torch.sin(math.pi * (0.0 - ys + 0.25)))
    torch.testing.assert_close(out[0, 8], torch.cos(math.pi * (0.3 - xs + 0.25)))


def test_converted_gan_is_a_stage1_checkpoint_for_stage2(tmp_path):
    from partseg.datasets import GeneratedPairsDataset
    src, dst = tmp_path / 'epoch_29.model', tmp_path / 'gan.pth'
    torch.save(tiny_official(), src)
    conv.main([str(src), str(dst)])
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['kind'] == 'gan' and saved['meta']['source'] == 'epoch_29.model'
    assert saved['meta']['converter'] == conv.CONVERTER
    with DefaultScope.overwrite_default_scope('partseg'):
        dataset = GeneratedPairsDataset(
            checkpoint=str(dst),
            num_parts=K,
            generator=TINY_GENERATOR,
            num_samples=2,
            pipeline=[dict(type='LoadPartImage'),
                      dict(type='PackPartInputs')])
        item = dataset[0]
    assert item['inputs'].shape == (3, 16, 16)


# ------------------------------------------------------------------------------------ segmenter
def test_segmenter_logits_equal_torchvision(tmp_path):
    from torchvision.models.segmentation import deeplabv3_resnet50
    torch.manual_seed(0)
    reference = deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=9)
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
    src, dst = tmp_path / 'epoch_9.model', tmp_path / 'seg.pth'
    torch.save(
        dict(detector={
            'model.' + k: v
            for k, v in reference.state_dict().items()
        }, optim={}), src)
    config = osp.join(CONFIGS, 'cub_k8_stage2.py')
    conv.main([str(src), str(dst), '--config', config])
    from partseg.apis import init_model
    model = init_model(config, str(dst))
    reference.eval()
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        expected = reference(x)['out']
        meta = dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64))
        ours = model.encode_decode(x, [meta])
    torch.testing.assert_close(ours, expected, atol=1e-4, rtol=0)


# ------------------------------------------------------------------------------------ bad input
def test_not_a_ganseg_file(tmp_path):
    src = tmp_path / 'other.pth'
    torch.save(dict(state_dict={'backbone.conv1.weight': torch.zeros(1)}, meta={}), src)
    with pytest.raises(conv.UserError, match=r'other\.pth is not a checkpoint of the official'):
        conv.main([str(src), str(tmp_path / 'out.pth')])
    assert not (tmp_path / 'out.pth').exists()


def test_wrong_k_names_both_files(tmp_path):
    generator, discriminator = official_gan_layout(8, False, False)
    src = tmp_path / 'celeba_k8.model'
    torch.save(
        dict(generator=random_state(generator), discriminator=random_state(discriminator)), src)
    config = osp.join(CONFIGS, 'taichi_k10.py')
    with pytest.raises(conv.UserError, match=r'celeba_k8\.model .*K=8.* does not fit .*taichi_k10'):
        conv.main([str(src), str(tmp_path / 'out.pth'), '--config', config])
    assert not (tmp_path / 'out.pth').exists()


def test_gan_into_a_stage2_config_is_refused(tmp_path):
    src = tmp_path / 'tiny.model'
    torch.save(tiny_official(), src)
    config = osp.join(CONFIGS, 'cub_k8_stage2.py')
    with pytest.raises(conv.UserError, match=r'does not fit .*cub_k8_stage2.py.*stage-1 config'):
        conv.main([str(src), str(tmp_path / 'out.pth'), '--config', config])


def test_existing_destination_is_kept(tmp_path):
    src, dst = tmp_path / 'tiny.model', tmp_path / 'out.pth'
    torch.save(tiny_official(), src)
    dst.write_bytes(b'earlier result')
    with pytest.raises(conv.UserError, match='exists already'):
        conv.main([str(src), str(dst)])
    assert dst.read_bytes() == b'earlier result'


def test_cli_reports_one_line(tmp_path, capsys):
    src = tmp_path / 'notes.model'
    torch.save(dict(notes=torch.zeros(1)), src)
    with pytest.raises(SystemExit) as exit_info:
        conv.run_tool(conv.main, [str(src), str(tmp_path / 'out.pth')])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith('partseg: error: ') and 'notes.model' in err and '\n' not in err
