"""LoadFgMask: the CUB threshold, the Flowers colour rule, VOC instance labels, GANSeg order."""
import numpy as np
import pytest
from PIL import Image

from partseg.datasets.transforms import LoadFgMask


def _save(path, array, mode=None):
    Image.fromarray(np.asarray(array, np.uint8), mode).save(str(path), format='PNG')
    return str(path)


def test_threshold_rule(tmp_path):
    grey = np.array([[0, 127, 128], [200, 255, 12]], np.uint8)
    path = _save(tmp_path / 'm.png', grey)
    out = LoadFgMask()(dict(fg_mask_path=path, img=np.zeros((2, 3, 3), np.uint8)))
    np.testing.assert_array_equal(out['gt_fg_mask'], [[False, False, True], [True, True, False]])
    assert out['gt_fg_mask'].dtype == bool
    rgb = np.stack([grey, np.zeros_like(grey), np.zeros_like(grey)], -1)  # first channel read
    out = LoadFgMask(threshold=199.5)(dict(fg_mask_path=_save(tmp_path / 'c.png', rgb)))
    np.testing.assert_array_equal(out['gt_fg_mask'], [[False, False, False], [True, True, False]])


def test_flowers_rule(tmp_path):
    seg = np.array([[[0, 9, 9], [9, 0, 9], [9, 9, 254]], [[9, 9, 253], [255, 255, 255], [1, 1, 0]]],
                   np.uint8)
    out = LoadFgMask(rule='flowers')(dict(fg_mask_path=_save(tmp_path / 's.png', seg)))
    np.testing.assert_array_equal(out['gt_fg_mask'], [[False, False, False], [True, True, True]])
    with pytest.raises(ValueError, match='the flowers rule needs an RGB image'):
        LoadFgMask(rule='flowers')(dict(fg_mask_path=_save(tmp_path / 'g.png', seg[..., 0])))


def test_label_rule_reads_palette_indices(tmp_path):
    idx = np.array([[0, 1, 1], [2, 255, 1]], np.uint8)
    img = Image.frombytes('P', (3, 2), idx.tobytes())
    img.putpalette([v for i in range(256) for v in (255 - i, i, 0)])
    path = str(tmp_path / 'o.png')
    img.save(path)
    out = LoadFgMask(rule='label')(dict(fg_mask_path=path, fg_label=1))
    np.testing.assert_array_equal(out['gt_fg_mask'], [[False, True, True], [False, False, True]])
    with pytest.raises(KeyError, match="needs 'fg_label'"):
        LoadFgMask(rule='label')(dict(fg_mask_path=path))


def test_rule_after_bilinear_resize(tmp_path):
    """GANSeg's order: resize the raw mask bilinearly, then threshold (hand-computed)."""
    # Halving, Pillow's bilinear (triangle) filter spans 3 input pixels per output pixel at the
    # border, weights (.75, .75, .25) / 1.75 along each axis. Left half 255 gives columns
    # (255 * 1.5 / 1.75, 255 * .25 / 1.75) = (218.6, 36.4); the extra pixel (0, 2) lifts the top
    # row to [[234, 83], [219, 36]].
    mask = np.zeros((4, 4), np.uint8)
    mask[:, :2] = 255
    mask[0, 2] = 255
    path = _save(tmp_path / 'm.png', mask)
    out = LoadFgMask(
        threshold=60, rule_after_resize=True)(
            dict(fg_mask_path=path, img_shape=(2, 2)))
    np.testing.assert_array_equal(out['gt_fg_mask'], [[True, True], [True, False]])
    out = LoadFgMask(
        threshold=127.5, rule_after_resize=True)(
            dict(fg_mask_path=path, img_shape=(2, 2)))
    np.testing.assert_array_equal(out['gt_fg_mask'], [[True, False], [True, False]])
    with pytest.raises(KeyError, match="needs 'img_shape'"):
        LoadFgMask(rule_after_resize=True)(dict(fg_mask_path=path))


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match='rule must be one of'):
        LoadFgMask(rule='otsu')
    with pytest.raises(ValueError, match='does not apply'):
        LoadFgMask(rule='label', rule_after_resize=True)
    with pytest.raises(FileNotFoundError, match='foreground mask file not found: .*none.png'):
        LoadFgMask()(dict(fg_mask_path=str(tmp_path / 'none.png')))
    (tmp_path / 'bad.png').write_bytes(b'not a png')
    with pytest.raises(ValueError, match='cannot read foreground mask .*bad.png'):
        LoadFgMask()(dict(fg_mask_path=str(tmp_path / 'bad.png')))
    path = _save(tmp_path / 'm.png', np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r'm\.png is 3x2 \(W x H\) but its image is 4x2'):
        LoadFgMask()(dict(fg_mask_path=path, img=np.zeros((2, 4, 3), np.uint8)))
    with pytest.raises(KeyError, match="needs 'fg_mask_path'"):
        LoadFgMask()(dict())
