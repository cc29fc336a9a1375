"""tools/analysis_tools/plot_curves.py on a hand-written MMEngine scalars log."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'plot_curves.py')

_spec = importlib.util.spec_from_file_location('partseg_plot_curves_tool', TOOL)
plot_curves = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(plot_curves)

# What LocalVisBackend writes: one JSON record per line; training records carry "iter",
# validation records only "step" (and may hold NaN).
NEW_RUN = [
    {
        'lr': 1e-3,
        'loss': 3.0,
        'loss_con': 2.0,
        'loss_sc': 1.0,
        'time': 1.5,
        'iter': 5,
        'step': 5
    },
    {
        'lr': 1e-3,
        'loss': 2.0,
        'loss_con': 1.5,
        'loss_sc': 0.5,
        'time': 1.2,
        'iter': 10,
        'step': 10
    },
    {
        'parts/fg_iou': 0.25,
        'parts/nmi': 0.5,
        'parts/nmi_fg': float('nan'),
        'time': 0.4,
        'step': 10
    },
    {
        'lr': 1e-3,
        'loss': 1.0,
        'loss_con': 0.75,
        'loss_sc': 0.25,
        'time': 1.1,
        'iter': 15,
        'step': 15
    },
]
OLD_RUN = [{'lr': 1e-3, 'loss': 9.0, 'loss_old': 9.0, 'iter': 5, 'step': 5}]


def write_run(work_dir, timestamp, records, name='scalars.json'):
    vis_data = work_dir / timestamp / 'vis_data'
    vis_data.mkdir(parents=True)
    with open(vis_data / name, 'w') as f:
        for record in records:
            f.write(json.dumps(record) + '\n')
    return str(vis_data / name)


@pytest.fixture
def work_dir(tmp_path):
    write_run(tmp_path, '20261122_090000', OLD_RUN)
    write_run(tmp_path, '20261123_101500', NEW_RUN)
    return tmp_path


def png_size(path):
    with open(path, 'rb') as f:
        header = f.read(24)
    assert header[:8] == b'\x89PNG\r\n\x1a\n'
    return int.from_bytes(header[16:20], 'big'), int.from_bytes(header[20:24], 'big')


def test_reads_the_newest_launch_and_splits_train_from_val(work_dir):
    path = plot_curves.find_scalar_log(str(work_dir))
    assert path == str(work_dir / '20261123_101500' / 'vis_data' / 'scalars.json')
    train, val = plot_curves.read_scalars(path)
    assert train['loss'] == [(5.0, 3.0), (10.0, 2.0), (15.0, 1.0)]
    assert train['loss_sc'] == [(5.0, 1.0), (10.0, 0.5), (15.0, 0.25)]
    assert val['parts/fg_iou'] == [(10.0, 0.25)]
    assert 'parts/nmi_fg' not in val  # NaN skipped
    assert 'iter' not in train and 'step' not in train
    # A run dir itself, and a LoggerHook <timestamp>.json when there is no scalars.json.
    assert plot_curves.find_scalar_log(str(work_dir / '20261123_101500')) == path
    other = write_run(work_dir / 'x', '20261124_000000', OLD_RUN, name='20261124_000000.json')
    assert plot_curves.find_scalar_log(str(work_dir / 'x')) == other


def test_a_resumed_run_is_one_curve(tmp_path):
    """Launch 1 logs steps 5-15 and dies; launch 2 (a test run) logs no scalars; launch 3 resumes
    from the step-10 checkpoint and logs 15-20: one curve, launch 3's step 15 replacing launch 1's,
    launch 1's validation at step 10 kept."""
    write_run(tmp_path, '20261123_101500', NEW_RUN)
    (tmp_path / '20261123_103000' / 'vis_data').mkdir(parents=True)  # tools/test.py: config only
    resumed = [
        {
            'lr': 1e-3,
            'loss': 1.5,
            'loss_con': 1.0,
            'loss_sc': 0.5,
            'iter': 15,
            'step': 15
        },
        {
            'lr': 1e-3,
            'loss': 0.5,
            'loss_con': 0.25,
            'loss_sc': 0.25,
            'iter': 20,
            'step': 20
        },
        {
            'parts/fg_iou': 0.5,
            'step': 20
        },
    ]
    write_run(tmp_path, '20261123_110000', resumed)
    paths = plot_curves.find_scalar_logs(str(tmp_path))
    assert paths == [
        str(tmp_path / ts / 'vis_data' / 'scalars.json')
        for ts in ('20261123_101500', '20261123_110000')
    ]
    train, val, starts = plot_curves.read_launches(paths)
    assert train['loss'] == [(5.0, 3.0), (10.0, 2.0), (15.0, 1.5), (20.0, 0.5)]
    assert val['parts/fg_iou'] == [(10.0, 0.25), (20.0, 0.5)]
    assert starts == [15.0]
    plot_curves.main([str(tmp_path)])
    assert png_size(str(tmp_path / 'curves.png'))[0] == 800
    # a fresh run in the same work dir (from step 5 again) replaces the old one entirely
    write_run(tmp_path, '20261124_000000', OLD_RUN)
    train, val, starts = plot_curves.read_launches(plot_curves.find_scalar_logs(str(tmp_path)))
    assert train == {'lr': [(5.0, 1e-3)], 'loss': [(5.0, 9.0)], 'loss_old': [(5.0, 9.0)]}
    assert val == {} and starts == [15.0, 5.0]


def test_default_keys_are_the_losses_and_prefixes_may_be_dropped(work_dir):
    # the fixture's two launches both start at step 5: the newer replaces the older entirely
    train, val, _ = plot_curves.read_launches(plot_curves.find_scalar_logs(str(work_dir)))
    assert plot_curves.select_keys(None, train, val, 'log') == ['loss', 'loss_con', 'loss_sc']
    assert plot_curves.select_keys(['loss_sc', 'fg_iou', 'parts/nmi'], train, val,
                                   'log') == ['loss_sc', 'parts/fg_iou', 'parts/nmi']


def test_writes_one_panel_per_key(work_dir, tmp_path):
    one, three = str(tmp_path / 'one.png'), str(tmp_path / 'out' / 'three.png')
    plot_curves.main([str(work_dir), '--keys', 'loss', '--out', one])
    plot_curves.main([str(work_dir), '--keys', 'loss', 'loss_con', 'fg_iou', '--out', three])
    (w1, h1), (w3, h3) = png_size(one), png_size(three)
    assert w1 == w3 == 800
    assert h3 > 2.5 * h1 - 100  # 2.4 in per panel + a title strip, at 100 dpi
    plot_curves.main([str(work_dir)])
    assert png_size(str(work_dir / 'curves.png'))[0] == 800


def test_unknown_key_lists_the_available_ones(work_dir):
    with pytest.raises(plot_curves.UserError) as error:
        plot_curves.main([str(work_dir), '--keys', 'loss', 'loss_rec'])
    message = str(error.value)
    assert "unknown key 'loss_rec'" in message and 'scalars.json' in message
    assert 'available: lr, loss, loss_con, loss_sc, time, parts/fg_iou, parts/nmi' in message


@pytest.mark.parametrize('make, fragment', [
    (lambda d: d / 'missing', 'work dir not found'),
    (lambda d: d, 'no scalars log in'),
])
def test_missing_dir_or_no_logs(tmp_path, make, fragment):
    with pytest.raises(plot_curves.UserError, match=fragment):
        plot_curves.main([str(make(tmp_path))])


def test_corrupt_or_empty_log_names_the_file(tmp_path):
    path = write_run(tmp_path, '20261123_101500', [])
    with pytest.raises(plot_curves.UserError, match='no scalars in .*scalars.json'):
        plot_curves.main([str(tmp_path)])
    with open(path, 'w') as f:
        f.write(json.dumps(NEW_RUN[0]) + '\n{"loss": 1.0, "st\n')
    with pytest.raises(ValueError, match='scalars.json, line 2: not a JSON record'):
        plot_curves.main([str(tmp_path)])
    with pytest.raises(plot_curves.UserError, match='--out must name a .png'):
        plot_curves.main([str(tmp_path), '--out', 'curves.pdf'])


def test_command_line_error_is_one_line(work_dir):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, TOOL, str(work_dir), '--keys', 'loss_nope'],
        capture_output=True,
        text=True,
        env=env,
        timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("partseg: error: unknown key 'loss_nope'")
    assert 'available: lr, loss, loss_con' in lines[0]
