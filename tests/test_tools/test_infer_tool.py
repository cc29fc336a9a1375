"""tools/infer.py on a folder of unannotated images: every output file, and one-line errors."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from partseg.apis import inference_model, init_model
from partseg.utils.cli import run_tool
from partseg.visualization.part_drawing import display_size

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'infer.py')
TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'dispart_tiny.py')
ENV = dict(os.environ, CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1')
SHAPES = ((32, 32), (32, 32), (40, 48))  # (H, W) of img0..img2


def load_tool():
    spec = importlib.util.spec_from_file_location('partseg_tool_infer', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    """A tiny DisPart checkpoint and a folder of 3 PNGs and a .txt file."""
    root = tmp_path_factory.mktemp('infer')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = init_model(TINY)
    checkpoint = root / 'tiny.pth'
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), checkpoint)
    folder = root / 'images'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index, (h, w) in enumerate(SHAPES):
        Image.fromarray(rng.integers(0, 256, (h, w, 3),
                                     dtype=np.uint8)).save(folder / f'img{index}.png')
    (folder / 'notes.txt').write_text('not an image')
    return root, checkpoint, folder


def run_in_process(capsys, *args):
    """Run tools/infer.py's main through run_tool here: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        run_tool(load_tool().main, [str(a) for a in args])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def assert_one_line_error(code, stderr, *fragments):
    assert code == 1, stderr
    lines = [line for line in stderr.splitlines() if line.startswith('partseg: error:')]
    assert len(lines) == 1 and 'Traceback' not in stderr, stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_infer_writes_overlays_labels_and_centroids(workspace, tmp_path):
    _, checkpoint, folder = workspace
    out = tmp_path / 'out'
    proc = subprocess.run(
        [sys.executable, TOOL, TINY, checkpoint, folder, '--out-dir', out, '--batch-size', '2'],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'partseg: warning: skipped 1 file(s) that are not images' in proc.stderr
    assert 'notes.txt' in proc.stderr
    names = sorted(os.listdir(out))
    assert names == sorted(
        ['centroids.json'] +
        [f'img{i}_{kind}.png' for i in range(3) for kind in ('overlay', 'labels')])
    with open(out / 'centroids.json') as f:
        centroids = json.load(f)
    assert sorted(centroids) == [str(folder / f'img{i}.png') for i in range(3)]
    model = init_model(TINY, str(checkpoint))
    for index, (h, w) in enumerate(SHAPES):
        path = str(folder / f'img{index}.png')
        labels = np.asarray(Image.open(out / f'img{index}_labels.png'))
        assert labels.dtype == np.uint8 and labels.shape == (h, w)
        expected = inference_model(model, path)
        np.testing.assert_array_equal(labels, expected.labels)
        overlay = Image.open(out / f'img{index}_overlay.png')
        overlay.load()
        # 3 panels of the image enlarged to 256 px on its short side
        tile_h, tile_w = display_size(h, w)
        assert overlay.mode == 'RGB' and overlay.width == 3 * tile_w and overlay.height > tile_h
        points = centroids[path]
        assert len(points) == 4
        for point, centre in zip(points, expected.centroids):
            if point is None:
                assert np.isnan(centre).all()
            else:
                assert 0 <= point[0] <= w and 0 <= point[1] <= h
                np.testing.assert_allclose(point, centre, atol=1e-3)


def test_folder_without_images_fails_in_one_line(capsys, tmp_path, workspace):
    _, checkpoint, _ = workspace
    empty = tmp_path / 'no_images'
    empty.mkdir()
    (empty / 'notes.txt').write_text('x')
    code, _, err = run_in_process(capsys, TINY, checkpoint, empty, '--out-dir', tmp_path / 'o')
    assert_one_line_error(code, err, 'no images', str(empty))


def _bad_folder(tmp_path, folder):
    """good.png, an 8x8 image, a truncated PNG and a file that is no JPEG at all."""
    broken = tmp_path / 'broken'
    broken.mkdir()
    good = (folder / 'img0.png').read_bytes()
    (broken / 'good.png').write_bytes(good)
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(broken / 'small.png')
    (broken / 'truncated.png').write_bytes(good[:len(good) // 2])
    (broken / 'bad.jpg').write_bytes(b'\xff\xd8\xff not really a jpeg')
    return broken


def test_undecodable_images_are_skipped_with_a_summary(capsys, tmp_path, workspace):
    """Default: each file that does not decode is skipped with one warning naming it; the 8x8
    image is resized like the others; the summary counts both."""
    _, checkpoint, folder = workspace
    broken = _bad_folder(tmp_path, folder)
    out = tmp_path / 'o'
    code, stdout, err = run_in_process(capsys, TINY, checkpoint, broken, '--out-dir', out,
                                       '--batch-size', '4')
    assert code == 0, err
    warnings_ = [line for line in err.splitlines() if line.startswith('partseg: warning: skipped')]
    assert len(warnings_) == 2, err
    assert any(str(broken / 'bad.jpg') in w for w in warnings_)
    assert any(str(broken / 'truncated.png') in w for w in warnings_)
    assert '2 segmented, 2 skipped (2 cannot be read)' in stdout
    assert str(out) in stdout
    assert sorted(os.listdir(out)) == [
        'centroids.json', 'good_labels.png', 'good_overlay.png', 'small_labels.png',
        'small_overlay.png'
    ]
    assert np.asarray(Image.open(out / 'small_labels.png')).shape == (8, 8)
    with open(out / 'centroids.json') as f:
        assert sorted(json.load(f)) == [str(broken / 'good.png'), str(broken / 'small.png')]


def test_strict_stops_at_the_first_bad_file_and_keeps_the_earlier_run(capsys, tmp_path, workspace):
    _, checkpoint, folder = workspace
    broken = _bad_folder(tmp_path, folder)
    out = tmp_path / 'o'
    code, _, err = run_in_process(capsys, TINY, checkpoint, folder, '--out-dir', out)
    assert code == 0, err
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    code, _, err = run_in_process(capsys, TINY, checkpoint, broken, '--out-dir', out, '--strict')
    assert_one_line_error(code, err, 'cannot read image', str(broken / 'bad.jpg'))
    # the failed run changed nothing of the complete earlier one and left no partial folder
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
    assert sorted(os.listdir(tmp_path)) == ['broken', 'o']


def test_a_second_run_replaces_the_first_completely(capsys, tmp_path, workspace):
    _, checkpoint, folder = workspace
    out = tmp_path / 'o'
    code, _, err = run_in_process(capsys, TINY, checkpoint, folder, '--out-dir', out)
    assert code == 0, err
    code, _, err = run_in_process(capsys, TINY, checkpoint, folder / 'img1.png', '--out-dir', out)
    assert code == 0, err
    assert sorted(os.listdir(out)) == ['centroids.json', 'img1_labels.png', 'img1_overlay.png']
    with open(out / 'centroids.json') as f:
        assert list(json.load(f)) == [str(folder / 'img1.png')]


def test_output_folder_with_other_files_is_refused(capsys, tmp_path, workspace):
    _, checkpoint, folder = workspace
    (tmp_path / 'mine.txt').write_text('keep me')
    code, _, err = run_in_process(capsys, TINY, checkpoint, folder, '--out-dir', tmp_path)
    assert_one_line_error(code, err, '--out-dir', str(tmp_path), 'mine.txt')
    assert (tmp_path / 'mine.txt').read_text() == 'keep me'


def test_nothing_segmentable_fails_and_writes_nothing(capsys, tmp_path, workspace):
    _, checkpoint, _ = workspace
    bad = tmp_path / 'bad'
    bad.mkdir()
    (bad / 'x.png').write_bytes(b'not a png')
    code, _, err = run_in_process(capsys, TINY, checkpoint, bad, '--out-dir', tmp_path / 'o')
    assert_one_line_error(code, err, 'none of the 1 image(s) could be segmented', 'x.png')
    assert sorted(os.listdir(tmp_path)) == ['bad']


def test_stage1_config_is_refused_naming_the_stage2_config(capsys, tmp_path, workspace):
    _, checkpoint, folder = workspace
    stage1 = osp.join(ROOT, 'configs', 'ganseg', 'synthetic_k4.py')
    code, _, err = run_in_process(capsys, stage1, checkpoint, folder, '--out-dir', tmp_path / 'o')
    assert_one_line_error(code, err, 'GANSeg', 'image generator',
                          osp.join(ROOT, 'configs', 'ganseg', 'synthetic_k4_stage2.py'))
    assert os.listdir(tmp_path) == []


def test_glob_matching_nothing_fails_naming_it(capsys, tmp_path, workspace):
    _, checkpoint, folder = workspace
    pattern = str(folder / '*.webp')
    code, _, err = run_in_process(capsys, TINY, checkpoint, pattern, '--out-dir', tmp_path / 'o')
    assert_one_line_error(code, err, 'no file matches the pattern', pattern)


def test_glob_input_segments_the_matches(capsys, tmp_path, workspace):
    _, checkpoint, folder = workspace
    code, out, err = run_in_process(capsys, TINY, checkpoint, str(folder / 'img[12].png'),
                                    '--out-dir', tmp_path / 'o')
    assert code == 0, err
    assert 'Segmenting 2 image(s)' in out
    assert sorted(os.listdir(tmp_path / 'o')) == [
        'centroids.json', 'img1_labels.png', 'img1_overlay.png', 'img2_labels.png',
        'img2_overlay.png'
    ]


def test_checkpoint_of_other_k_fails_naming_it(capsys, tmp_path, workspace):
    _, checkpoint, folder = workspace
    code, _, err = run_in_process(capsys, TINY, checkpoint, folder, '--out-dir', tmp_path / 'o',
                                  '--cfg-options', 'model.num_parts=3',
                                  'model.classification_loss.num_classes=3')
    assert_one_line_error(code, err, str(checkpoint), 'num_parts K')


def test_checkpoint_of_other_method_fails_naming_it(capsys, tmp_path, workspace):
    _, _, folder = workspace
    other = tmp_path / 'segmenter.pth'
    torch.save(
        dict(meta=dict(), state_dict={'decode_head.conv_seg.weight': torch.zeros(5, 16)}), other)
    code, _, err = run_in_process(capsys, TINY, other, folder, '--out-dir', tmp_path / 'o')
    assert_one_line_error(code, err, str(other), 'another model')


def test_missing_checkpoint_fails_naming_it(capsys, tmp_path, workspace):
    _, _, folder = workspace
    code, _, err = run_in_process(capsys, TINY, tmp_path / 'none.pth', folder, '--out-dir',
                                  tmp_path)
    assert_one_line_error(code, err, 'checkpoint not found', 'none.pth')


def test_data_root_flag_reaches_the_config(capsys, tmp_path, workspace):
    """--data-root sets the config's datasets (the synthetic one has none: a one-line error)."""
    _, checkpoint, folder = workspace
    code, _, err = run_in_process(capsys, TINY, checkpoint, folder, '--out-dir', tmp_path / 'o',
                                  '--data-root', tmp_path)
    assert_one_line_error(code, err, '--data-root: no dataset of', 'reads a data_root')
