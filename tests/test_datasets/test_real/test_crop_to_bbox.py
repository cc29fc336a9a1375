"""CropToBBox: window rounding, padding, square windows, out-of-image fill, landmark shift."""
import numpy as np
import pytest

from partseg.datasets.transforms import CropToBBox


def _results(h=10, w=12):
    img = np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3)
    seg = (np.arange(h * w) % 5).astype(np.uint8).reshape(h, w)
    return dict(
        img=img,
        gt_seg_map=seg,
        gt_fg_mask=seg > 2,
        gt_landmarks=np.array([[3.5, 4.5], [7.0, 2.0]], np.float32),
        landmark_norm=np.array([5, 5], np.float32))


def test_crop_rounds_outwards_and_shifts_landmarks():
    res = _results()
    res['bbox'] = np.array([2.5, 1.2, 8.0, 6.9])  # -> window x 2..8, y 1..7
    out = CropToBBox()(dict(res))
    np.testing.assert_array_equal(out['img'], res['img'][1:7, 2:8])
    np.testing.assert_array_equal(out['gt_seg_map'], res['gt_seg_map'][1:7, 2:8])
    np.testing.assert_array_equal(out['gt_fg_mask'], res['gt_fg_mask'][1:7, 2:8])
    np.testing.assert_array_equal(out['gt_landmarks'], [[1.5, 3.5], [5.0, 1.0]])
    np.testing.assert_allclose(out['bbox'], [0.5, 0.2, 6.0, 5.9], rtol=1e-6)
    np.testing.assert_array_equal(out['landmark_norm'], [5, 5])  # a length: unchanged
    assert out['img_shape'] == (6, 6) and out['crop_bbox'] == (2, 1, 8, 7)


def test_padding_square_and_fill_outside():
    res = _results()
    res['bbox'] = np.array([0.0, 2.0, 4.0, 4.0])  # 4 x 2 box
    # padding 0.5 per side: x -2..6, y 1..5; square about the centre (2, 3): 8 x 8 -> y -1..7
    out = CropToBBox(padding=0.5, square=True, pad_val=7)(dict(res))
    assert out['crop_bbox'] == (-2, -1, 6, 7) and out['img'].shape == (8, 8, 3)
    assert (out['img'][0] == 7).all() and (out['img'][:, :2] == 7).all()  # outside: pad_val
    np.testing.assert_array_equal(out['img'][1:, 2:], res['img'][0:7, 0:6])
    assert (out['gt_seg_map'][0] == 0).all() and not out['gt_fg_mask'][:, :2].any()
    np.testing.assert_array_equal(out['gt_landmarks'], [[5.5, 5.5], [9.0, 3.0]])


def test_bad_input():
    with pytest.raises(KeyError, match="needs 'bbox'"):
        CropToBBox()(_results())
    res = _results()
    res['bbox'] = [4, 4, 4, 8]
    with pytest.raises(ValueError, match='x2 > x1 and y2 > y1'):
        CropToBBox()(res)
    res['bbox'] = [1, 2, 3]
    with pytest.raises(ValueError, match="'bbox' must hold 4 numbers"):
        CropToBBox()(res)
    with pytest.raises(ValueError, match='padding must be >= 0'):
        CropToBBox(padding=-0.1)
