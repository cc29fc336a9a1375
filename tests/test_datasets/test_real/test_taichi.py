"""Tai-Chi-HD: evaluation layout, keypoint conversion, MAE (bias fit) and IoU end to end."""
import functools
import importlib.util
import os.path as osp

import numpy as np
import pytest

from partseg.datasets import TaichiDataset as _TaichiDataset

TaichiDataset = functools.partial(_TaichiDataset, serialize_data=False)

CONVERTER = osp.join(
    osp.dirname(__file__), '..', '..', '..', 'tools', 'dataset_converters', 'taichi.py')
N_TRAIN, SIZE, ORI = 40, 32, 64  # >= 2K + 1 = 37 fit samples; tests resize 64 -> 32 px
MISSING = {('train', 6): 5, ('test', 1): 7}  # (split, image index): missing keypoint


def load_converter():
    spec = importlib.util.spec_from_file_location('taichi_converter', CONVERTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def keypoints_of(split, index):
    """(18, 2) random odd pixel positions in the 64 px image (pixel centres at 32 px), -1 for
    a missing keypoint."""
    rng = np.random.default_rng([0 if split == 'train' else 1, index])
    points = (2 * rng.integers(0, ORI // 2, size=(18, 2)) + 1).astype(float)
    if (split, index) in MISSING:
        points[MISSING[split, index]] = -1
    return points


def fg_mask():
    mask = np.zeros((ORI, ORI), np.uint8)
    mask[16:48, 16:48] = 255
    return mask


def make_taichi(root, helpers):
    conv = load_converter()
    for split, count in (('train', N_TRAIN), ('test', 2)):
        names = [f'{split}_{i:03d}.png' for i in range(count)]
        for name in names:
            helpers.write_image(root / 'eval_images' / 'taichi-256' / split / name, (ORI, ORI))
            if split == 'test':
                helpers.write_array(root / 'taichi-test-masks' / name, fg_mask())
        conv.write_keypoint_table(
            str(root / 'landmark' / f'taichi_{split}_gt.csv'), names,
            np.stack([keypoints_of(split, i) for i in range(count)]))
    for video in ('video_a', 'video_b'):
        for frame in range(3):
            helpers.write_image(root / 'train' / video / f'{frame:07d}.png', (ORI, ORI))
    return root


@pytest.fixture
def taichi_root(tmp_path, helpers):
    return make_taichi(tmp_path / 'taichi', helpers)


def test_converter_tables(tmp_path):
    conv = load_converter()
    points = np.stack([keypoints_of('test', 1), keypoints_of('test', 0) + 0.25])
    path = str(tmp_path / 'landmark' / 'taichi_test_gt.csv')
    conv.write_keypoint_table(path, ['a.png', 'b.png'], points)
    lines = open(path).read().splitlines()
    assert lines[0].split()[:3] == ['file_name', 'x_0', 'y_0'] and len(lines[0].split()) == 37
    assert lines[2].split()[0] == 'b.png'
    np.testing.assert_array_equal(np.array(lines[2].split()[1:], float), points[1].reshape(-1))
    with pytest.raises(ValueError, match='row 1 holds keypoints of shape'):
        conv.stack_keypoints([np.zeros((18, 2)), np.zeros((17, 2))], 'taichi_train_gt.pkl')
    with pytest.raises(ValueError, match='duplicate file names'):
        conv.write_keypoint_table(path, ['a.png', 'a.png'], points)


def test_converter_reports_missing_pickles(tmp_path, capsys):
    assert load_converter().main([str(tmp_path)]) == 1
    err = capsys.readouterr().err
    # without pandas the message says how to get it; with it, which pickle is missing
    assert 'pip install pandas' in err or 'taichi_train_gt.pkl not found' in err


def test_entries_and_counts(taichi_root):
    train = TaichiDataset(str(taichi_root), split='train', regression_split='train')
    test = TaichiDataset(str(taichi_root), split='test')
    assert len(train) == N_TRAIN and len(test) == 2
    info = test.get_data_info(1)
    assert info['img_path'] == str(taichi_root / 'eval_images' / 'taichi-256' / 'test' /
                                   'test_001.png')
    assert info['fg_mask_path'] == str(taichi_root / 'taichi-test-masks' / 'test_001.png')
    visible = np.ones(18, bool)
    visible[7] = False
    np.testing.assert_array_equal(info['gt_landmarks_visible'], visible)
    np.testing.assert_array_equal(info['gt_landmarks'][visible], keypoints_of('test', 1)[visible])
    np.testing.assert_array_equal(info['gt_landmarks'][7], [0, 0])
    assert 'fg_mask_path' not in train.get_data_info(0)
    assert train.get_data_info(0)['regression_split'] == 'train'


def test_bad_input(taichi_root, tmp_path, helpers):
    with pytest.raises(FileNotFoundError, match=r'taichi-256/test \(directory\) not found'):
        TaichiDataset(str(tmp_path))
    (taichi_root / 'taichi-test-masks' / 'test_001.png').unlink()
    with pytest.raises(
            FileNotFoundError,
            match=r'test_001\.png not found \(referred to by .*'
            r'taichi_test_gt\.csv'):
        TaichiDataset(str(taichi_root), split='test')
    table = taichi_root / 'landmark' / 'taichi_test_gt.csv'
    lines = table.read_text().splitlines()
    lines[2] = lines[2].rsplit(' ', 1)[0]
    table.write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=r'taichi_test_gt\.csv:3: expected a name and 36'):
        TaichiDataset(str(taichi_root))
    table.unlink()
    with pytest.raises(FileNotFoundError, match='tools/dataset_converters/taichi.py'):
        TaichiDataset(str(taichi_root))


def test_mae_protocol_end_to_end(taichi_root, helpers, partseg_scope):
    """Per-coordinate fit with bias, missing keypoints skipped, MAE summed over 36 coordinates."""
    cfg = helpers.resize_to(helpers.load_base('taichi', taichi_root), SIZE)
    dataset = helpers.build_dataset(cfg.test_dataloader.dataset)
    assert len(dataset) == N_TRAIN + 2
    samples = [dataset[i]['data_samples'] for i in range(len(dataset))]
    for sample in samples:
        vis = sample.gt_landmarks_visible.numpy()
        points = sample.gt_landmarks.numpy()
        np.testing.assert_array_equal(points[vis] % 1, 0.5)
        helpers.predict_parts(sample, np.where(vis[:, None], points, 3.5))
    shifted = samples[N_TRAIN].gt_landmarks.numpy().copy()
    shifted[3, 0] += 1  # test image 0: keypoint 3 one pixel right at 32 px = 2 px at 64 px
    helpers.predict_parts(samples[N_TRAIN], shifted)
    result = helpers.evaluate(cfg.test_evaluator, samples)
    # coordinate (3, x): mean(|2|, 0) = 1 px in the original frame; every other coordinate 0
    np.testing.assert_allclose(result['parts/keypoint_mae'], 1.0, atol=1e-6)

    iou_set = helpers.build_dataset(cfg.taichi_iou_dataloader.dataset)
    samples = [iou_set[i]['data_samples'] for i in range(2)]
    # GANSeg keeps the pixels that are still 255 after the bilinear 2x downscale: the 32 x 32
    # block at 16..47 loses one output pixel per side -> rows / cols 9..22 (14 x 14 = 196 px)
    expected = np.zeros((SIZE, SIZE), bool)
    expected[9:23, 9:23] = True
    np.testing.assert_array_equal(samples[0].gt_fg_mask.data[0].numpy(), expected)
    pred = np.zeros((SIZE, SIZE), bool)
    pred[8:24, 8:24] = True  # 256 px covering the GT
    helpers.predict_foreground(samples[0], pred)
    helpers.predict_foreground(samples[1], np.zeros((SIZE, SIZE), bool))  # IoU 0
    result = helpers.evaluate(cfg.taichi_iou_evaluator, samples)
    np.testing.assert_allclose(result['parts/fg_iou'], (196 / 256 + 0) / 2, rtol=1e-6)

    train = helpers.build_dataset(cfg.train_dataloader.dataset)
    assert len(train) == 6 and train[0]['inputs'].shape == (3, SIZE, SIZE)


class _SystemCall:
    """Pickles as a call of os.system: what a crafted 'keypoint pickle' could hold."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        import os
        return os.system, (self.command, )


def test_converter_refuses_a_pickle_that_would_run_code(tmp_path):
    import pickle
    marker = tmp_path / 'ran'
    path = tmp_path / 'taichi_train_gt.pkl'
    path.write_bytes(pickle.dumps(_SystemCall(f'touch {marker}')))
    with pytest.raises(ValueError) as error:
        load_converter().load_data_frame(str(path))
    assert str(error.value).startswith(f'refusing to unpickle {path}: it needs the global '
                                       'posix.system')
    assert not marker.exists()


def test_converter_reads_a_data_frame_pickle(tmp_path):
    pd = pytest.importorskip('pandas')
    import pickle
    frame = pd.DataFrame(
        dict(file_name=['a.png', 'b.png'], value=[np.zeros((18, 2)),
                                                  np.full((18, 2), 3.0)]))
    path = tmp_path / 'taichi_train_gt.pkl'
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        path.write_bytes(pickle.dumps(frame, protocol=protocol))
        names, keypoints = load_converter().read_official_pickle(str(path))
        assert names == ['a.png', 'b.png'] and keypoints.shape == (2, 18, 2)
        assert (keypoints[1] == 3).all()
