"""RandomResizedCropParts: torchvision's RandomResizedCrop window, applied to image, masks and
landmarks (the official GANSeg CUB / Flowers stage-1 augmentation)."""
import numpy as np
import pytest

from partseg.datasets.transforms import RandomResizedCropParts, ResizeParts


def _results(height=8, width=8):
    rng = np.random.default_rng(0)
    seg = (np.arange(height * width).reshape(height, width) % 5).astype(np.uint8)
    return dict(
        img=rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
        gt_seg_map=seg,
        gt_fg_mask=seg > 0,
        gt_landmarks=np.array([[2.5, 1.5], [5.0, 4.0], [0.5, 7.5]], dtype=np.float32),
        landmark_norm=np.array([3.0, 3.0], dtype=np.float32))


def test_fixed_window_is_cut_and_resized_with_masks_and_landmarks():
    source = _results()
    transform = RandomResizedCropParts(crop_ratio_range=(0.9, 1.0), aspect_ratio_range=(0.9, 1.1))
    transform.crop_window = lambda height, width: (1, 2, 4, 4)  # top, left, h, w
    out = transform(_results())
    crop = source['img'][1:5, 2:6]
    assert out['crop_bbox'] == (2, 1, 6, 5)
    assert out['img_shape'] == (8, 8) and out['img'].shape == (8, 8, 3)  # back to the input size
    np.testing.assert_array_equal(out['img'], ResizeParts((8, 8))(dict(img=crop))['img'])
    # nearest neighbour at pixel centres: output pixel (i, j) <- crop pixel (i // 2, j // 2)
    expected = source['gt_seg_map'][1:5, 2:6].repeat(2, 0).repeat(2, 1)
    np.testing.assert_array_equal(out['gt_seg_map'], expected)
    np.testing.assert_array_equal(out['gt_fg_mask'], expected > 0)
    # (x, y) -> ((x - left) * 2, (y - top) * 2); the third landmark leaves the image
    np.testing.assert_allclose(out['gt_landmarks'], [[1.0, 1.0], [6.0, 6.0], [-3.0, 13.0]])
    np.testing.assert_allclose(out['landmark_norm'], [6.0, 6.0])


def test_explicit_output_scale():
    transform = RandomResizedCropParts(
        scale=(6, 4), crop_ratio_range=(1.0, 1.0), aspect_ratio_range=(1.0, 1.0))
    out = transform(_results())
    assert out['crop_bbox'] == (0, 0, 8, 8)  # area 1, ratio 1: the whole 8 x 8 image
    assert out['img'].shape == (4, 6, 3) and out['gt_seg_map'].shape == (4, 6)
    assert out['img_shape'] == (4, 6)


def test_windows_follow_the_official_ranges():
    # GANSeg: area 0.9-1.0 of the image, width / height 0.9-1.1, anywhere inside the image
    np.random.seed(0)
    transform = RandomResizedCropParts(crop_ratio_range=(0.9, 1.0), aspect_ratio_range=(0.9, 1.1))
    windows = np.array([transform.crop_window(128, 128) for _ in range(300)])
    top, left, h, w = windows.T
    assert (top >= 0).all() and (left >= 0).all()
    assert (top + h <= 128).all() and (left + w <= 128).all()
    area = h * w / 128**2
    assert area.min() >= 0.89 and area.max() <= 1.0
    assert (w / h).min() >= 0.9 - 1 / 64 and (w / h).max() <= 1.1 + 1 / 64
    assert len(set(map(tuple, windows))) > 100  # random, not one fixed window


def test_fallback_is_the_centred_window_of_the_allowed_ratio():
    # a square of >= 0.9 x 64 px never fits a 4 x 16 image: width cut to ratio 1, centred
    transform = RandomResizedCropParts(crop_ratio_range=(0.9, 1.0), aspect_ratio_range=(1.0, 1.0))
    assert transform.crop_window(4, 16) == (0, 6, 4, 4)
    # and a 16 x 4 image (too narrow for ratio >= 2): height cut to 4 / 2 = 2, centred
    narrow = RandomResizedCropParts(crop_ratio_range=(0.9, 1.0), aspect_ratio_range=(2.0, 3.0))
    assert narrow.crop_window(16, 4) == (7, 0, 2, 4)
    # no attempts: the whole image when its ratio is allowed
    whole = RandomResizedCropParts(aspect_ratio_range=(0.9, 1.1), max_attempts=0)
    assert whole.crop_window(10, 10) == (0, 0, 10, 10)


def test_bad_arguments_and_inputs_raise():
    with pytest.raises(ValueError, match='crop_ratio_range must be'):
        RandomResizedCropParts(crop_ratio_range=(0.0, 1.0))
    with pytest.raises(ValueError, match='aspect_ratio_range must be'):
        RandomResizedCropParts(aspect_ratio_range=(1.2, 1.1))
    with pytest.raises(ValueError, match='max_attempts'):
        RandomResizedCropParts(max_attempts=-1)
    with pytest.raises(ValueError, match='scale must be'):
        RandomResizedCropParts(scale=0)
    with pytest.raises(KeyError, match="needs 'img'"):
        RandomResizedCropParts()(dict())
    bad = _results()
    bad['gt_seg_map'] = bad['gt_seg_map'][:4]
    with pytest.raises(ValueError, match="'gt_seg_map' is \\(4, 8\\) but 'img' is \\(8, 8\\)"):
        RandomResizedCropParts()(bad)
