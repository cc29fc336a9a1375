"""tools/deployment/export.py: ONNX (onnxruntime) and TorchScript outputs equal PyTorch's."""
import importlib.util
import os.path as osp
import warnings

import numpy as np
import pytest
import torch

from partseg.apis import inference_model, init_model
from partseg.apis.part_logits_wrapper import PartLogitsWrapper
from partseg.apis.segmenter_export import check_exported, run_exported
from partseg.utils.cli import run_tool

onnxruntime = pytest.importorskip('onnxruntime')  # a test requirement; only a guard

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'deployment', 'export.py')
CONFIGS = dict(
    dispart=osp.join(ROOT, 'tests', 'data', 'configs', 'dispart_tiny.py'),
    segmenter=osp.join(ROOT, 'tests', 'data', 'configs', 'ganseg_segmenter_tiny.py'))
EXTENSIONS = dict(onnx='.onnx', torchscript='.torchscript.pt')


def load_tool():
    spec = importlib.util.spec_from_file_location('partseg_tool_export', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def calibrated_checkpoint(config: str, path: str) -> str:
    """A fresh model with default conv init and BN statistics of random images: O(1) logits."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = init_model(config)
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.reset_parameters()
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None
    wrapper = PartLogitsWrapper(model).train()
    with torch.no_grad():
        for _ in range(2):
            wrapper(torch.randint(0, 256, (4, 3, 32, 32)).float())
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), path)
    return path


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp('export')
    return {
        name: calibrated_checkpoint(config, str(root / f'{name}.pth'))
        for name, config in CONFIGS.items()
    }


@pytest.fixture(scope='module')
def models(checkpoints):
    return {name: init_model(CONFIGS[name], checkpoints[name]) for name in CONFIGS}


def run_in_process(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        run_tool(load_tool().main, [str(a) for a in args])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


@pytest.mark.parametrize('fmt', ['onnx', 'torchscript'])
@pytest.mark.parametrize('name', ['dispart', 'segmenter'])
def test_exported_model_equals_pytorch(capsys, tmp_path, checkpoints, models, name, fmt):
    out = tmp_path / f'{name}{EXTENSIONS[fmt]}'
    code, stdout, stderr = run_in_process(capsys, CONFIGS[name], checkpoints[name], '--format', fmt,
                                          '--out', out)
    assert code == 0, stderr
    assert 'check passed: max abs diff to PyTorch' in stdout
    assert 'traced at H, W = 32, 32' in stdout
    wrapper = PartLogitsWrapper(models[name]).eval()
    generator = torch.Generator().manual_seed(1)
    for shape in ((3, 3, 32, 32), (1, 3, 45, 37)):  # another batch size and image size
        images = torch.randint(0, 256, shape, generator=generator).float()
        with torch.no_grad():
            expected = wrapper(images).numpy()
        found = run_exported(fmt, str(out), images)
        assert found.shape == (shape[0], 5) + shape[2:]
        assert np.abs(found - expected).max() <= 1e-4
        assert expected.std() > 0.05  # non-trivial logits, so the comparison means something


@pytest.mark.parametrize('name', ['dispart', 'segmenter'])
def test_wrapper_gives_the_logits_of_inference(models, name):
    """The exported function is what inference computes (32 px: no resize in either config)."""
    image = np.random.default_rng(2).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    with torch.no_grad():
        logits = PartLogitsWrapper(models[name]).eval()(
            torch.from_numpy(image).permute(2, 0, 1).float()[None])
    result = inference_model(models[name], image)
    np.testing.assert_allclose(logits[0].softmax(0).numpy(), result.part_probs, atol=1e-5)


def test_onnx_file_states_its_contract(capsys, tmp_path, checkpoints):
    import onnx
    out = tmp_path / 'm.onnx'
    code, _, stderr = run_in_process(capsys, CONFIGS['dispart'], checkpoints['dispart'], '--format',
                                     'onnx', '--out', out, '--no-check', '--shape', '40', '48')
    assert code == 0, stderr
    proto = onnx.load(str(out))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta['partseg.num_parts'] == '4'
    assert '[0, 255]' in meta['partseg.contract']
    assert [i.name for i in proto.graph.input] == ['images']
    assert [o.name for o in proto.graph.output] == ['part_logits']


def test_check_fails_in_one_line_when_outputs_differ(tmp_path, checkpoints, models):
    out = str(tmp_path / 'm.onnx')
    from partseg.apis.segmenter_export import export_segmenter
    export_segmenter(models['dispart'], 'onnx', out, (32, 32))
    changed = init_model(CONFIGS['dispart'], checkpoints['dispart'])
    with torch.no_grad():
        changed.part_head.bias += 0.01  # PyTorch now differs from the file by 0.01
    images = [torch.zeros(1, 3, 32, 32)]
    with pytest.raises(
            ValueError, match=r'm\.onnx: the exported model differs from PyTorch by '
            r'up to 0\.01'):
        check_exported(PartLogitsWrapper(changed).eval(), 'onnx', out, images)
    assert check_exported(PartLogitsWrapper(changed).eval(), 'onnx', out, images, atol=0.02) > 0


def test_checkpoint_of_another_method_is_refused_in_one_line(capsys, checkpoints):
    code, _, stderr = run_in_process(capsys, CONFIGS['dispart'], checkpoints['segmenter'],
                                     '--format', 'onnx')
    assert code == 1, stderr
    lines = [line for line in stderr.splitlines() if line.startswith('partseg: error:')]
    assert len(lines) == 1 and 'Traceback' not in stderr, stderr
    assert checkpoints['segmenter'] in lines[0] and 'another model' in lines[0]


def test_stage1_config_is_refused_and_nothing_is_written(capsys, tmp_path, checkpoints):
    """Issue 18.4: a GANSeg stage-1 config exported generated samples into a broken file."""
    stage1 = osp.join(ROOT, 'tests', 'data', 'configs', 'ganseg_tiny.py')
    out = tmp_path / 'm.onnx'
    code, _, stderr = run_in_process(capsys, stage1, checkpoints['segmenter'], '--format', 'onnx',
                                     '--out', out)
    assert code == 1, stderr
    lines = [line for line in stderr.splitlines() if line.startswith('partseg: error:')]
    assert len(lines) == 1 and 'Traceback' not in stderr, stderr
    assert 'image generator' in lines[0] and 'ganseg_tiny_stage2.py' in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_failed_check_leaves_no_file(capsys, tmp_path, checkpoints):
    out = tmp_path / 'm.onnx'
    code, _, stderr = run_in_process(capsys, CONFIGS['dispart'], checkpoints['dispart'], '--format',
                                     'onnx', '--out', out, '--atol', '0', '--rtol', '0')
    if code == 0:  # onnxruntime reproduced PyTorch bit for bit: nothing to check here
        pytest.skip('the export matched PyTorch exactly')
    assert f'{out}: the exported model differs from PyTorch' in stderr
    assert list(tmp_path.iterdir()) == []
