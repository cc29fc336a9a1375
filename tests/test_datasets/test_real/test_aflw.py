"""AFLW (aflw_release-2 of IMM / Thewlis et al.): layout, (row, col) keypoints, protocol."""
import functools
import os

import numpy as np
import pytest
from scipy.io import savemat

from partseg.datasets import AFLWDataset as _AFLWDataset

AFLWDataset = functools.partial(_AFLWDataset, serialize_data=False)

COUNTS = {'train': 12, 'test': 2}  # >= 2K = 10 regression inputs
ORI, SIZE = 64, 32  # tests resize 64 -> 32 px instead of the config's 128


def landmarks_of(split, index):
    """(5, 2) (x, y) odd pixel positions in the 64 px crop (pixel centres at 32 px)."""
    rng = np.random.default_rng([0 if split == 'train' else 1, index])
    return (2 * rng.choice(ORI // 2, size=(5, 2), replace=False) + 1).astype(float)


def make_aflw(root, helpers):
    for split, count in COUNTS.items():
        names = [f'{split}/face_{i:05d}.jpg' for i in range(count)]
        for name in names:
            helpers.write_image(root / 'output' / name, (ORI, ORI), fmt='JPEG')
        helpers.write_text(root / f'aflw_{split}_images.txt', names)
        gt = np.stack([landmarks_of(split, i)[:, ::-1] for i in range(count)])  # (row, col)
        savemat(str(root / f'aflw_{split}_keypoints.mat'), dict(gt=gt, hw=np.full((count, 2), ORI)))
    return root


@pytest.fixture
def aflw_root(tmp_path, helpers):
    return make_aflw(tmp_path / 'aflw_release-2', helpers)


def test_entries(aflw_root):
    ds = AFLWDataset(str(aflw_root), split='test', regression_split='test')
    assert len(ds) == 2 and len(AFLWDataset(str(aflw_root), split='train')) == 12
    info = ds.get_data_info(1)
    assert info['img_path'] == str(aflw_root / 'output' / 'test' / 'face_00001.jpg')
    np.testing.assert_array_equal(info['gt_landmarks'], landmarks_of('test', 1))  # (x, y)
    iod = np.linalg.norm(landmarks_of('test', 1)[0] - landmarks_of('test', 1)[1])
    np.testing.assert_allclose(info['landmark_norm'], [iod, iod], rtol=1e-6)
    assert info['regression_split'] == 'test' and info['gt_landmarks_visible'].all()


def test_bad_input(aflw_root, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'aflw_train_keypoints\.mat not found; expected'):
        AFLWDataset(str(tmp_path))
    savemat(str(aflw_root / 'aflw_test_keypoints.mat'), dict(gt=np.zeros((3, 5, 2))))
    with pytest.raises(ValueError, match=r"'gt' has shape \(3, 5, 2\), expected \(2, 5, 2\)"):
        AFLWDataset(str(aflw_root), split='test')
    savemat(str(aflw_root / 'aflw_test_keypoints.mat'), dict(pts=np.zeros((2, 5, 2))))
    with pytest.raises(KeyError, match="has no 'gt' array"):
        AFLWDataset(str(aflw_root), split='test')
    os.remove(aflw_root / 'output' / 'train' / 'face_00003.jpg')
    with pytest.raises(
            FileNotFoundError,
            match=r'face_00003\.jpg not found \(referred to by '
            r'.*aflw_train_images\.txt'):
        AFLWDataset(str(aflw_root), split='train')


def test_protocol_end_to_end(aflw_root, helpers, partseg_scope):
    cfg = helpers.resize_to(helpers.load_base('aflw', aflw_root), SIZE)
    dataset = helpers.build_dataset(cfg.test_dataloader.dataset)
    samples = [dataset[i]['data_samples'] for i in range(len(dataset))]
    assert [s.regression_split for s in samples] == ['train'] * 12 + ['test'] * 2
    for sample in samples:
        helpers.predict_parts(sample, sample.gt_landmarks.numpy())
    shifted = samples[-1].gt_landmarks.numpy().copy()
    shifted[4, 1] += 1  # right mouth corner one pixel down
    helpers.predict_parts(samples[-1], shifted)
    iod = np.linalg.norm(landmarks_of('test', 1)[0] - landmarks_of('test', 1)[1]) * SIZE / ORI
    result = helpers.evaluate(cfg.test_evaluator, samples)
    np.testing.assert_allclose(result['parts/landmark_error'], (1 / iod / 5) / 2 * 100, rtol=1e-6)
    train = helpers.build_dataset(cfg.train_dataloader.dataset)
    assert len(train) == 12
