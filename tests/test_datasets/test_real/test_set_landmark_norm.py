"""SetLandmarkNorm: the inter-ocular distance measured after an anisotropic resize."""
import numpy as np
import pytest

from partseg.datasets.transforms import ResizeParts, SetLandmarkNorm


def test_interocular_after_anisotropic_resize():
    # eyes (10, 20) and (40, 60) in a 100 x 50 (W x H) image: distance 50 before resizing
    res = dict(
        img=np.zeros((50, 100, 3), np.uint8),
        gt_landmarks=np.array([[10, 20], [40, 60], [0, 0]], np.float32),
        landmark_norm=np.array([50, 50], np.float32))
    res = ResizeParts(scale=(50, 50))(res)  # x * 0.5, y * 1.0: eyes (5, 20), (20, 60)
    np.testing.assert_allclose(res['landmark_norm'], [25, 50])  # per-axis scaling
    out = SetLandmarkNorm(mode='interocular', eye_indices=(0, 1))(res)
    np.testing.assert_allclose(out['landmark_norm'], [np.hypot(15, 40)] * 2, rtol=1e-6)
    assert out['landmark_norm'].dtype == np.float32


def test_image_mode():
    out = SetLandmarkNorm(mode='image')(dict(img=np.zeros((30, 40, 3), np.uint8)))
    np.testing.assert_array_equal(out['landmark_norm'], [40, 30])  # (W, H)


def test_bad_input():
    with pytest.raises(ValueError, match='mode must be one of'):
        SetLandmarkNorm(mode='bbox')
    with pytest.raises(ValueError, match='two different landmark indices'):
        SetLandmarkNorm(eye_indices=(1, 1))
    points = np.array([[1, 1], [1, 1]], np.float32)
    with pytest.raises(ValueError, match='eyes of a.jpg coincide'):
        SetLandmarkNorm()(dict(gt_landmarks=points, img_path='a.jpg'))
    with pytest.raises(ValueError, match=r'eye_indices \(0, 2\) out of range for 2 landmarks'):
        SetLandmarkNorm(eye_indices=(0, 2))(dict(gt_landmarks=points))
    with pytest.raises(ValueError, match='an eye landmark of b.jpg is not visible'):
        SetLandmarkNorm()(
            dict(
                gt_landmarks=points + [[0, 0], [3, 4]],
                img_path='b.jpg',
                gt_landmarks_visible=np.array([True, False])))
    with pytest.raises(KeyError, match="needs 'gt_landmarks'"):
        SetLandmarkNorm()(dict())
