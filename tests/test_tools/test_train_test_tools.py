"""tools/train.py and tools/test.py as a user runs them: train, resume, test, bad input."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'dispart_tiny.py')
ENV = dict(os.environ, CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')


def run_tool(name, *args, cwd=None):
    return subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', name), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=ENV,
        timeout=300)


def assert_one_line_error(proc, *fragments):
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith('partseg: error:')]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Train the tiny config for 2 iterations, then --resume to 4."""
    work_dir = tmp_path_factory.mktemp('train')
    first = run_tool('train.py', TINY, '--work-dir', work_dir, '--cfg-options',
                     'train_cfg.max_iters=2')
    assert first.returncode == 0, first.stderr[-3000:]
    assert osp.isfile(work_dir / 'iter_2.pth')
    resumed = run_tool('train.py', TINY, '--work-dir', work_dir, '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return work_dir, first.stdout + first.stderr, resumed.stdout + resumed.stderr


def test_train_then_resume_continues_from_last_checkpoint(trained):
    work_dir, _, resumed_log = trained
    assert 'Auto resumed from the latest checkpoint' in resumed_log
    assert 'resumed epoch: 0, iter: 2' in resumed_log
    assert 'Iter(train) [3/4]' in resumed_log and 'Iter(train) [1/4]' not in resumed_log
    assert osp.isfile(work_dir / 'iter_4.pth')
    with open(work_dir / 'last_checkpoint') as f:
        assert f.read().strip().endswith('iter_4.pth')


def test_test_tool_writes_metrics_table_overlays_and_predictions(trained, tmp_path):
    work_dir, _, _ = trained
    out_dir = tmp_path / 'preds'
    proc = run_tool('test.py', TINY, work_dir / 'iter_4.pth', '--work-dir', tmp_path, '--show-dir',
                    'overlays', '--out', out_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'trivial baselines' in proc.stdout
    assert 'all-foreground' in proc.stdout and 'centred-ellipse' in proc.stdout
    with open(tmp_path / 'metrics.json') as f:
        metrics = json.load(f)['metrics']
    for key in ('fg_iou', 'fg_iou_all_foreground_baseline', 'fg_iou_centred_ellipse_baseline',
                'landmark_error', 'landmark_error_mean_baseline', 'nmi', 'ari'):
        assert key in metrics
    overlays = os.listdir(tmp_path / 'overlays')
    assert len(overlays) == 16 and all(name.endswith('.png') for name in overlays)
    labels = sorted(n for n in os.listdir(out_dir) if n.endswith('.png'))
    assert len(labels) == 16
    with open(out_dir / 'centroids.json') as f:
        centroids = json.load(f)
    assert len(centroids) == 16
    first = next(iter(centroids.values()))
    assert first['img_shape'] == [32, 32] and len(first['centroids']) == 4


def test_resume_from_explicit_checkpoint(trained, tmp_path):
    work_dir, _, _ = trained
    proc = run_tool('train.py', TINY, '--work-dir', tmp_path, '--resume', work_dir / 'iter_2.pth',
                    '--cfg-options', 'train_cfg.max_iters=3')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert osp.isfile(tmp_path / 'iter_3.pth')


@pytest.mark.parametrize('args, fragments', [
    (['no/such/config.py'], ['config file not found', 'no/such/config.py']),
    ([TINY, '--cfg-options', 'train_dataloder.batch_size=3'
      ], ['unknown config key train_dataloder', 'did you mean train_dataloader']),
    ([TINY, '--cfg-options', 'train_cfg.max_iter=3'], ['max_iter', 'IterBasedTrainLoop']),
    ([TINY, '--cfg-options', 'model.num_parts=0'], ['num_parts']),
    ([TINY, '--cfg-options', 'model.shape_encoder.no_such_arg=1'], ['no_such_arg']),
    ([TINY, '--resume', 'missing.pth'], ['checkpoint not found', 'missing.pth']),
    ([TINY, '--cfg-options', 'train_dataloader.dataset.pipeline.1.scale=[8,8]'
      ], ['8x8', 'at least']),
])
def test_train_bad_input_gives_one_line_error(args, fragments, tmp_path):
    proc = run_tool('train.py', *args, '--work-dir', tmp_path / 'wd')
    assert_one_line_error(proc, *fragments)


def test_test_tool_refuses_checkpoint_of_other_k(trained, tmp_path):
    work_dir, _, _ = trained
    proc = run_tool('test.py', TINY, work_dir / 'iter_4.pth', '--work-dir', tmp_path,
                    '--cfg-options', 'model.num_parts=3', 'model.classification_loss.num_classes=3')
    assert_one_line_error(proc, 'iter_4.pth', 'num_parts')


def test_test_tool_missing_checkpoint(tmp_path):
    proc = run_tool('test.py', TINY, tmp_path / 'nope.pth', '--work-dir', tmp_path)
    assert_one_line_error(proc, 'checkpoint not found', 'nope.pth')


def test_train_with_amp_on_cpu_uses_autocast_wrappers(tmp_path):
    """--amp without CUDA: both GANSeg wrappers become AutocastOptimWrapper (bf16); the tiny GAN
    trains through a gradient-penalty step and saves its checkpoint."""
    ganseg_tiny = osp.join(ROOT, 'tests', 'data', 'configs', 'ganseg_ddp_tiny.py')
    proc = run_tool('train.py', ganseg_tiny, '--amp', '--work-dir', tmp_path, '--cfg-options',
                    'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert osp.isfile(tmp_path / 'iter_2.pth')
    dumped = open(tmp_path / 'ganseg_ddp_tiny.py').read()
    assert dumped.count("type='AutocastOptimWrapper'") == 2 and "dtype='bfloat16'" in dumped


def test_out_and_show_dir_are_relative_to_the_work_dir(trained, tmp_path):
    """Issue 18.6: --out landed in the current directory, --show-dir in the work dir."""
    work_dir, _, _ = trained
    cwd = tmp_path / 'cwd'
    cwd.mkdir()
    test_dir = tmp_path / 'wd'
    proc = run_tool(
        'test.py',
        TINY,
        work_dir / 'iter_4.pth',
        '--work-dir',
        test_dir,
        '--out',
        'preds',
        '--show-dir',
        'overlays',
        cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert os.listdir(cwd) == []
    assert len(os.listdir(test_dir / 'preds')) == 17 and len(os.listdir(
        test_dir / 'overlays')) == 16
    assert f'label maps and centroids.json written to {test_dir / "preds"}' in proc.stdout
    assert f'part overlays written to {test_dir / "overlays"}' in proc.stdout

    # a run that fails half-way (its test dataset cannot be built) leaves both folders as they
    # were and no partial folder (issue 17.7)
    before = {
        name: sorted(os.listdir(test_dir / name)) + [(test_dir / name / 'centroids.json').exists()]
        for name in ('preds', 'overlays')
    }
    failed = run_tool('test.py', TINY, work_dir / 'iter_4.pth', '--work-dir', test_dir, '--out',
                      'preds', '--show-dir', 'overlays', '--cfg-options',
                      'test_dataloader.dataset.datasets.0.num_samples=-1')
    assert_one_line_error(failed, 'num_samples')
    after = {
        name: sorted(os.listdir(test_dir / name)) + [(test_dir / name / 'centroids.json').exists()]
        for name in ('preds', 'overlays')
    }
    assert after == before
    assert not [n for n in os.listdir(test_dir) if n.endswith('.partial')]


def test_test_tool_refuses_a_stage1_config(tmp_path):
    """Issues 17.9 / 18.4: GANSeg stage 1 has no test split; its stage-2 config is named."""
    stage1 = osp.join(ROOT, 'configs', 'ganseg', 'synthetic_k4.py')
    checkpoint = tmp_path / 'stage1.pth'
    checkpoint.write_bytes(b'')
    proc = run_tool('test.py', stage1, checkpoint, '--work-dir', tmp_path / 'wd')
    assert_one_line_error(proc, 'image generator',
                          osp.join(ROOT, 'configs', 'ganseg', 'synthetic_k4_stage2.py'))
    assert not osp.exists(tmp_path / 'wd')


@pytest.mark.parametrize('args, fragments', [
    (['--data-root', ROOT], ['--data-root', 'no dataset of', 'reads a data_root']),
    (['--stage1-checkpoint', TINY], ['--stage1-checkpoint', 'is not a stage-2 config']),
    (['--cfg-options', 'image_size=64'
      ], ['image_size is a variable', 'train_dataloader.dataset.image_size']),
    ([
        '--cfg-options', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=True'
    ], ['train_dataloader.persistent_workers=True needs train_dataloader.num_workers > 0']),
])
def test_train_flags_refuse_what_they_cannot_do(args, fragments, tmp_path):
    proc = run_tool('train.py', TINY, *args, '--work-dir', tmp_path / 'wd')
    assert_one_line_error(proc, *fragments)


def test_test_tool_data_root_flag_reaches_the_config(tmp_path):
    proc = run_tool('test.py', TINY, tmp_path / 'any.pth', '--work-dir', tmp_path / 'wd',
                    '--data-root', tmp_path)
    assert_one_line_error(proc, '--data-root: no dataset of', 'reads a data_root')


def test_stage1_checkpoint_flag_reaches_the_pairs_dataset(tmp_path):
    missing = tmp_path / 'stage1' / 'iter_4.pth'
    stage2 = osp.join(ROOT, 'tests', 'data', 'configs', 'ganseg_tiny_stage2.py')
    proc = run_tool('train.py', stage2, '--stage1-checkpoint', missing, '--work-dir', tmp_path)
    assert_one_line_error(proc, f'--stage1-checkpoint: checkpoint not found: {missing}')


def test_tensorboard_backend_writes_event_files(tmp_path):
    """Issue 18.8: --vis-backend tensorboard logs the run's scalars as TensorBoard events."""
    pytest.importorskip('tensorboard')  # an optional extra, part of the tests extra
    proc = run_tool('train.py', TINY, '--vis-backend', 'tensorboard', '--work-dir', tmp_path,
                    '--cfg-options', 'train_cfg.max_iters=2')
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [
        osp.join(folder, name) for folder, _, names in os.walk(tmp_path) for name in names
        if name.startswith('events.out.tfevents.')
    ]
    assert events, sorted(os.listdir(tmp_path))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    accumulator = EventAccumulator(osp.dirname(events[0]))
    accumulator.Reload()
    assert 'loss' in accumulator.Tags()['scalars']
    assert [e.step for e in accumulator.Scalars('loss')] == [1, 2]
