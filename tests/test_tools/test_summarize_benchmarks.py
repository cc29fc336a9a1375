"""tools/analysis_tools/summarize_benchmarks.py (the Markdown table of benchmark records, the
speed-ups over a baseline, its one-line errors) and the plumbing of speed_targets.sh, which
drives it."""
import importlib.util
import json
import os.path as osp

import pytest
from _lib.benchmark import environment_info, training_fields

from partseg.utils.cli import UserError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def tool():
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'summarize_benchmarks.py')
    spec = importlib.util.spec_from_file_location('partseg_tool_summarize_benchmarks', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(path, times, batch_size=4, **extra):
    """A record as the benchmark tools write it (training_fields + machine), saved at ``path``."""
    record = dict(
        tool='benchmark_train',
        batch_size=batch_size,
        iters=len(times),
        warmup=0,
        **training_fields(times, times, [], batch_size, 'cpu'),
        env=environment_info('cpu'))
    record.update(extra)
    with open(path, 'w') as f:
        json.dump(record, f)
    return str(path)


def test_table_rows_and_speed_ups(tool, tmp_path):
    """Speed-up = baseline median / row median: 6 s / 2 s = 3.00x, 6 / 4 = 1.50x; the baseline's
    row first (1.00x) whatever the order given."""
    base = _record(tmp_path / 'reference.json', [5.0, 6.0, 7.0], tool='benchmark_x_reference')
    fast = _record(
        tmp_path / 'ours_amp.json', [2.0, 2.0, 3.0],
        config='configs/a/b_k8.py',
        amp='AmpOptimWrapper-bfloat16',
        channels_last=True)
    slow = _record(tmp_path / 'ours.json', [4.0], config='configs/a/b_k8.py')
    text = tool.table([fast, slow, base], baseline_path=base)
    lines = text.strip().splitlines()
    assert lines[0].startswith('| run | model |') and lines[0].endswith('| speed-up |')
    rows = [[cell.strip() for cell in line.strip('|').split('|')] for line in lines[2:]]
    assert [r[0] for r in rows] == ['reference', 'ours_amp', 'ours']
    assert [r[-1] for r in rows] == ['1.00x', '3.00x', '1.50x']
    assert rows[0][1] == 'benchmark_x_reference' and rows[1][1] == 'b_k8.py'
    assert rows[1][4:7] == ['AmpOptimWrapper-bfloat16', 'yes', '-']  # amp, NHWC, autotune
    assert rows[2][4:6] == ['fp32', 'no'] and rows[1][7:9] == ['2', '2']  # s/iter, images/s


def test_table_without_baseline_and_out_file(tool, tmp_path):
    one = _record(tmp_path / 'one.json', [1.0, 3.0])
    out = tmp_path / 'table.md'
    assert tool.main([one, '--out', str(out)]) == 0
    text = out.read_text()
    assert 'speed-up' not in text and '| one | benchmark_train |' in text
    assert '| 2 | 2 |' in text  # median 2 s, 4 images / 2 s


def test_refuses_bad_records(tool, tmp_path):
    good = _record(tmp_path / 'good.json', [1.0])
    with pytest.raises(UserError, match='missing.json: no such file'):
        tool.table([str(tmp_path / 'missing.json')])
    (tmp_path / 'broken.json').write_text('{"s_per_iter": ')
    with pytest.raises(UserError, match='broken.json: not a JSON benchmark record'):
        tool.table([str(tmp_path / 'broken.json')])
    (tmp_path / 'infer.json').write_text(json.dumps({'images_per_s': 3.0}))
    with pytest.raises(
            UserError, match="infer.json: not a training benchmark record "
            "\\(no 's_per_iter'\\)"):
        tool.table([str(tmp_path / 'infer.json')])
    other_batch = _record(tmp_path / 'batch8.json', [1.0], batch_size=8)
    with pytest.raises(UserError, match='batch8.json: batch size 8 differs from the baseline'):
        tool.table([other_batch], baseline_path=good)


def test_speed_targets_script_plumbing(tmp_path):
    """tools/analysis_tools/speed_targets.sh without running a model: usage error, and a spent
    BUDGET skips every run, lists them in failed.txt, writes no table and exits 1."""
    import subprocess
    script = osp.join(ROOT, 'tools', 'analysis_tools', 'speed_targets.sh')
    usage = subprocess.run(['bash', script], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and 'usage:' in usage.stderr
    out = tmp_path / 'st'
    proc = subprocess.run(['bash', script, str(out)],
                          capture_output=True,
                          text=True,
                          timeout=60,
                          env={
                              'PATH': '/usr/bin:/bin',
                              'BUDGET': '1',
                              'DEVICE': 'cpu'
                          })
    assert proc.returncode == 1, proc.stderr
    skipped = (out / 'failed.txt').read_text().splitlines()
    assert len(skipped) == 11 and all('budget is spent' in line for line in skipped)
    assert skipped[0].startswith('dispart_reference') and skipped[-1].startswith('ganseg_amp_')
    assert not list(out.glob('*.md')) and not list(out.glob('*.json'))
