"""tools/analysis_tools/benchmark_train.py and benchmark_infer.py at tiny sizes, run in-process:
DisPart, GANSeg stage 1 (an OptimWrapperDict) and the stage-2 segmenter; the JSON they write."""
import importlib.util
import json
import os.path as osp

import pytest
from _lib.cpu_malloc import _mallopt
from mmengine.registry import DefaultScope

from partseg.utils.cli import UserError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'tests', 'data', 'configs')
DISPART_TINY = osp.join(CONFIGS, 'dispart_tiny.py')
GANSEG_TINY = osp.join(CONFIGS, 'ganseg_ddp_tiny.py')
SEGMENTER = osp.join(ROOT, 'configs', 'ganseg', 'synthetic_k4_stage2.py')
# the segmenter of synthetic_k4_stage2 made smaller still: ResNet-50 layout at width 8
SEGMENTER_TINY = [
    'model.backbone.stem_channels=8', 'model.backbone.base_channels=8',
    'model.decode_head.in_channels=256', 'model.decode_head.channels=8'
]

ENV_KEYS = {
    'timestamp', 'torch', 'device', 'device_name', 'cpu_count', 'torch_threads', 'load_average'
}
STATS_KEYS = {'median', 'mean', 'p90', 'min', 'max'}


def _load(name):
    path = osp.join(ROOT, 'tools', 'analysis_tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'partseg_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def train_tool():
    return _load('benchmark_train')


@pytest.fixture(scope='module')
def infer_tool():
    return _load('benchmark_infer')


@pytest.fixture(autouse=True)
def no_scope_leak():
    DefaultScope._instance_dict.clear()
    yield
    DefaultScope._instance_dict.clear()


def _run(tool, tmp_path, *args):
    out = tmp_path / 'result.json'
    assert tool.main([*map(str, args), '--out', str(out)]) == 0
    with open(out) as f:
        return json.load(f)


@pytest.mark.parametrize(
    'config, extra, model, image_size', [
        (DISPART_TINY, [], 'DisPart', [32, 32]),
        (GANSEG_TINY, [], 'GANSeg', [16, 16]),
        (SEGMENTER, ['--cfg-options'] + SEGMENTER_TINY, 'EncoderDecoder', [32, 32]),
    ],
    ids=['dispart', 'ganseg', 'segmenter'])
def test_benchmark_train_json(train_tool, tmp_path, config, extra, model, image_size):
    result = _run(train_tool, tmp_path, config, '--iters', 2, '--warmup', 1, '--batch-size', 2,
                  *extra)
    assert result['tool'] == 'benchmark_train' and result['model'] == model
    assert result['batch_size'] == 2 and result['image_size'] == image_size
    assert len(result['times_s']) == 2 and len(result['warmup_times_s']) == 1
    assert set(result['s_per_iter']) == STATS_KEYS
    assert set(result['cpu_s_per_iter']) == STATS_KEYS
    assert result['s_per_iter']['min'] <= result['s_per_iter']['median'] <= \
        result['s_per_iter']['max']
    assert result['images_per_s'] == pytest.approx(2 / result['s_per_iter']['median'])
    assert result['peak_memory_kind'] == 'peak_rss' and result['peak_memory_bytes'] > 2**20
    assert ENV_KEYS <= set(result['env']) and result['env']['device'] == 'cpu'
    assert result['amp'] is None and result['data_time_s'] is None
    assert result['cpu_malloc'] is None  # glibc's defaults unless --keep-freed-memory


def test_benchmark_train_keep_freed_memory(train_tool, tmp_path):
    result = _run(train_tool, tmp_path, DISPART_TINY, '--iters', 1, '--warmup', 0, '--batch-size',
                  1, '--keep-freed-memory')
    # applied where glibc is the C library (the settings last for this test process)
    assert result['cpu_malloc'] is (_mallopt() is not None)


def test_benchmark_train_options_with_data_amp_channels_last(train_tool, tmp_path):
    result = _run(train_tool, tmp_path, DISPART_TINY, '--iters', 1, '--warmup', 0, '--with-data',
                  '--amp', '--channels-last')
    assert result['amp'] == 'AutocastOptimWrapper-bfloat16' and result['channels_last']
    assert result['with_data'] and set(result['data_time_s']) == STATS_KEYS
    assert result['batch_size'] == 2 and result['image_size'] == [32, 32]  # the config's loader


def test_benchmark_infer_json_with_reference(infer_tool, tmp_path):
    result = _run(infer_tool, tmp_path, SEGMENTER, '--batch-size', 1, '--iters', 1, '--warmup', 0,
                  '--cfg-options', *SEGMENTER_TINY)
    assert result['tool'] == 'benchmark_infer' and result['model'] == 'EncoderDecoder'
    assert result['image_size'] == [32, 32] and set(result['s_per_batch']) == STATS_KEYS
    reference = result['reference']
    assert reference['model'].startswith('torchvision deeplabv3_resnet50')
    assert reference['num_classes'] == 5  # K + 1 of the config
    assert result['speedup_vs_reference'] == pytest.approx(reference['s_per_batch']['median'] /
                                                           result['s_per_batch']['median'])


def test_benchmark_infer_generates_with_ganseg(infer_tool, tmp_path):
    result = _run(infer_tool, tmp_path, GANSEG_TINY, '--batch-size', 2, '--iters', 1,
                  '--no-reference')
    assert result['model'] == 'GANSeg' and result['reference'] is None
    assert result['images_per_s'] > 0 and 'speedup_vs_reference' not in result


@pytest.mark.parametrize(
    'args, message', [
        ([DISPART_TINY, '--iters', '0'], '--iters must be at least 1'),
        ([DISPART_TINY, '--device', 'tpu'], "--device must be 'cpu' or 'cuda"),
        ([DISPART_TINY, '--compile', 'nosuch'], "no sub-module 'nosuch'"),
        ([SEGMENTER, '--image-size', '1', '2', '3'], '--image-size takes H or H W'),
    ],
    ids=['iters', 'device', 'compile', 'image-size'])
def test_benchmark_train_refuses_bad_input(train_tool, args, message):
    with pytest.raises((UserError, ValueError, KeyError), match=message):
        train_tool.main(args)


@pytest.fixture(scope='module')
def reference_tool():
    return _load('benchmark_dispart_reference')


def test_dispart_reference_networks_have_the_official_layout(reference_tool):
    """ResNet-18 / -34 trunks to layer3 without max pool (16 x 16 maps at 128 px), the official
    decoder widths back to 128 px, VGG-19 to relu5_2, K + 1 part channels."""
    import torch
    nets = reference_tool.build_reference(num_parts=4).eval()
    assert [len(nets['shape'][i]) for i in (3, 4, 5)] == [2, 2, 2]
    assert [len(nets['appearance'][i]) for i in (3, 4, 5)] == [3, 4, 6]
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in nets['shape'].modules())
    with torch.no_grad():
        image = torch.rand(1, 3, 128, 128)
        assert nets['part_head'](nets['shape'](image)).shape == (1, 5, 16, 16)
        assert nets['appearance'](image).shape == (1, 256, 16, 16)
        assert nets['decoder'](torch.rand(1, 258, 16, 16)).shape == (1, 3, 128, 128)
    assert len(nets['vgg']) == 32 and not any(p.requires_grad for p in nets['vgg'].parameters())


def test_dispart_reference_step_trains_and_writes_json(reference_tool, tmp_path):
    import torch
    nets = reference_tool.build_reference(num_parts=2).train()
    trainable = [p for name, net in nets.items() if name != 'vgg' for p in net.parameters()]
    optimizer = torch.optim.Adam(trainable, lr=1e-3)
    step = reference_tool.make_step(nets, optimizer, num_parts=2)
    before = [p.detach().clone() for p in trainable]
    step(torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32))
    assert all(not torch.equal(b, p) for b, p in zip(before, trainable))

    result = _run(reference_tool, tmp_path, '--batch-size', 2, '--image-size', 32, '--num-parts', 2,
                  '--iters', 2, '--warmup', 0)
    assert result['tool'] == 'benchmark_dispart_reference' and result['batch_size'] == 2
    assert result['image_size'] == [32, 32] and len(result['times_s']) == 2
    assert set(result['s_per_iter']) == STATS_KEYS == set(result['cpu_s_per_iter'])
    assert result['peak_memory_kind'] == 'peak_rss' and ENV_KEYS <= set(result['env'])


@pytest.mark.parametrize('args, message', [
    (['--image-size', '36'], '--image-size must be a multiple of 8'),
    (['--image-size', '16'], 'at least 32'),
    (['--batch-size', '0'], '--batch-size must be at least 1'),
    (['--num-parts', '0'], '--num-parts must be at least 1'),
])
def test_dispart_reference_refuses_bad_input(reference_tool, args, message):
    with pytest.raises(UserError, match=message):
        reference_tool.main(args)


@pytest.fixture(scope='module')
def ganseg_reference_tool():
    return _load('benchmark_ganseg_reference')


def _noise(batch, z_dim=256):
    import torch
    gen = torch.Generator().manual_seed(0)
    return (*(torch.randn(batch, z_dim, generator=gen)
              for _ in range(3)), torch.rand(batch, 1, 2, generator=gen) * 2 - 1)


def test_ganseg_reference_networks_have_the_official_layout(ganseg_reference_tool):
    """celeba_wild_k8: the official discriminator's 23,726,721 parameters, as partseg's; the
    generator's 16,815,945 = partseg's 17,793,225 less the official code's shared layers (one
    hidden MLP layer per MLP, one middle mask block: 7 x 65,792 + 516,736)."""
    import torch
    nets, sizes = ganseg_reference_tool.build_reference(num_parts=8, image_size=128)
    count = {name: sum(p.numel() for p in net.parameters()) for name, net in nets.items()}
    assert count == dict(generator=17_793_225 - 7 * 65_792 - 516_736, discriminator=23_726_721)
    assert sizes == (32, 32, 64, 128)
    assert not any(m.affine
                   for m in nets['generator'].modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_ganseg_reference_generator_and_discriminator_shapes(ganseg_reference_tool):
    import torch
    tool = ganseg_reference_tool
    nets, sizes = tool.build_reference(
        num_parts=3, image_size=16, channels=(16, 8, 8, 8), emb_dim=8)
    assert sizes == (4, 4, 8, 16)
    with torch.no_grad():
        out = tool.generate(nets, sizes, _noise(2), with_penalties=True)
        logits = tool.discriminate(nets, out['image'])
    assert out['image'].shape == (2, 3, 16, 16) and out['image'].abs().max() <= 1
    assert out['center'] >= 0 and out['area'] >= 0 and logits.shape == (2, )
    assert set(tool.generate(nets, sizes, _noise(1), with_penalties=False)) == {'image'}


def test_ganseg_reference_grid_extends_linspace(ganseg_reference_tool):
    """(size + 2 extend)^2 (row, column) points continuing linspace(-1, 1, size) by ``extend``
    steps: size 3 (step 1), extend 1 -> -2, -1, 0, 1, 2."""
    import torch
    grid = ganseg_reference_tool._grid(torch, 3, 1, 'cpu')
    axis = torch.tensor([-2., -1., 0., 1., 2.])
    assert grid.shape == (25, 2)
    assert torch.allclose(grid[:, 0], axis.repeat_interleave(5))
    assert torch.allclose(grid[:, 1], axis.repeat(5))


def test_ganseg_reference_step_trains_both_networks_and_writes_json(ganseg_reference_tool,
                                                                    tmp_path):
    import torch
    tool = ganseg_reference_tool
    nets, sizes = tool.build_reference(
        num_parts=2, image_size=16, channels=(16, 8, 8, 8), emb_dim=8)
    optim_g = torch.optim.Adam(nets['generator'].parameters(), lr=1e-3)
    optim_d = torch.optim.Adam(nets['discriminator'].parameters(), lr=1e-3)
    step = tool.make_step(nets, sizes, optim_g, optim_d)
    before = {name: p.detach().clone() for name, p in nets.named_parameters()}
    for _ in range(2):  # step 0 with the gradient penalty and the mask penalties, step 1 without
        step(torch.rand(2, 3, 16, 16) * 2 - 1)
    unchanged = {name for name, p in nets.named_parameters() if torch.equal(before[name], p)}
    # at 4 px the part cones cover no pixel (as in the official code at such sizes), so the SPADE
    # convs of the first two mask blocks see all-zero heatmaps: no gradient for their weights
    assert unchanged == {
        f'generator.{block}.{spade}.hidden.weight'
        for block, spades in (('mask_first', ('spade1', 'spade2', 'spade_shortcut')),
                              ('mask_middle', ('spade1', 'spade2')))
        for spade in spades
    }

    result = _run(tool, tmp_path, '--batch-size', 2, '--image-size', 8, '--num-parts', 2, '--iters',
                  1, '--warmup', 0)
    assert result['tool'] == 'benchmark_ganseg_reference' and result['batch_size'] == 2
    assert result['image_size'] == [8, 8] and result['feature_map_sizes'] == [2, 2, 4, 8]
    assert set(result['s_per_iter']) == STATS_KEYS and ENV_KEYS <= set(result['env'])


@pytest.mark.parametrize('args, message', [
    (['--image-size', '30'], '--image-size must be a multiple of 4'),
    (['--image-size', '4'], 'at least 8'),
    (['--batch-size', '0'], '--batch-size must be at least 1'),
    (['--iters', '0'], '--iters must be at least 1'),
])
def test_ganseg_reference_refuses_bad_input(ganseg_reference_tool, args, message):
    with pytest.raises(UserError, match=message):
        ganseg_reference_tool.main(args)
