"""tools/analysis_tools/dispart_diagnostics.py on a tiny DisPart checkpoint: report, JSON,
errors."""
import importlib.util
import json
import os.path as osp
import warnings

import pytest
import torch

from partseg.apis import init_model
from partseg.utils.cli import run_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'dispart_diagnostics.py')
TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'dispart_tiny.py')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = init_model(TINY)
    path = tmp_path_factory.mktemp('diagnostics') / 'tiny.pth'
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), path)
    return path


def run(capsys, *args):
    spec = importlib.util.spec_from_file_location('partseg_tool_dispart_diagnostics', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with warnings.catch_warnings(), pytest.raises(SystemExit) as exit_info:
        warnings.simplefilter('ignore')
        run_tool(module.main, [str(a) for a in args])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_report_and_json(capsys, tmp_path, checkpoint):
    out = tmp_path / 'diag.json'
    code, stdout, stderr = run(capsys, TINY, checkpoint, '--num-images', 4, '--out', out)
    assert code == 0, stderr
    assert 'change when F is swapped' in stdout and 'colourfulness' in stdout
    figures = json.loads(out.read_text())
    assert figures['num_images'] == 4 and len(figures['feature_spread']) == 5  # K = 4, + bg
    assert 0 < figures['colourfulness_input'] < 1


@pytest.mark.parametrize('args, fragment', [
    (('--num-images', 1), '--num-images must be at least 2'),
    (('--num-images', 1000), '--num-images 1000: the test set of the config has only 16'),
])
def test_one_line_errors(capsys, checkpoint, args, fragment):
    code, _, stderr = run(capsys, TINY, checkpoint, *args)
    assert code == 1 and fragment in stderr and len(stderr.strip().splitlines()) == 1, stderr


def test_missing_checkpoint(capsys, tmp_path):
    code, _, stderr = run(capsys, TINY, tmp_path / 'none.pth')
    assert code == 1 and 'none.pth' in stderr and len(stderr.strip().splitlines()) == 1, stderr
