"""ResizeParts: image bilinear, masks nearest at pixel centres, landmarks and norm scaled."""
import numpy as np
import pytest

from partseg.datasets.transforms import ResizeParts


def _results(h=4, w=4):
    img = np.zeros((h, w, 3), dtype=np.uint8)
    seg = (np.arange(h * w) % 7).reshape(h, w).astype(np.uint8)  # distinct per column
    return dict(
        img=img,
        gt_seg_map=seg,
        gt_fg_mask=seg > 2,
        img_shape=(h, w),
        ori_shape=(h, w),
        gt_landmarks=np.array([[1.5, 3.0], [0.5, 0.5]], dtype=np.float32),
        landmark_norm=np.array([2.0, 4.0], dtype=np.float32))


def test_image_is_bilinear_at_pixel_centres():
    # a 1 x 2 ramp (0, 100) resized to 1 x 4: output centres sit at source x = -0.25, 0.25,
    # 0.75, 1.25 (pixel units, clamped at the edges) -> 0, 25, 75, 100
    img = np.zeros((1, 2, 3), dtype=np.uint8)
    img[0, 1] = 100
    out = ResizeParts((4, 1))(dict(img=img))['img']
    assert out.dtype == np.uint8 and out.shape == (1, 4, 3)
    np.testing.assert_array_equal(out[0, :, 1], [0, 25, 75, 100])
    # a constant image stays constant when shrunk (antialiased filter weights sum to one)
    flat = np.full((8, 8, 3), 123, dtype=np.uint8)
    assert (ResizeParts(3)(dict(img=flat))['img'] == 123).all()


def test_masks_are_nearest_at_pixel_centres_and_keep_their_dtype():
    results = ResizeParts((2, 8))(_results())  # (W, H) = (2, 8)
    seg, fg = results['gt_seg_map'], results['gt_fg_mask']
    assert seg.shape == (8, 2) and seg.dtype == np.uint8 and fg.dtype == bool
    # columns: floor((j + .5) * 4 / 2) = 1, 3; rows: floor((i + .5) * 4 / 8) = 0, 0, 1, 1, ...
    source = _results()['gt_seg_map']
    np.testing.assert_array_equal(seg, source[[0, 0, 1, 1, 2, 2, 3, 3]][:, [1, 3]])
    np.testing.assert_array_equal(fg, seg > 2)
    assert set(np.unique(seg)) <= set(np.unique(source))  # no interpolated labels


def test_landmarks_norm_shape_and_scale_factor():
    results = ResizeParts((8, 2))(_results())  # x * 2, y / 2
    np.testing.assert_allclose(results['gt_landmarks'], [[3.0, 1.5], [1.0, 0.25]])
    assert results['gt_landmarks'].dtype == np.float32
    np.testing.assert_allclose(results['landmark_norm'], [4.0, 2.0])
    assert results['img_shape'] == (2, 8) and results['ori_shape'] == (4, 4)
    assert results['scale_factor'] == (2.0, 0.5)
    # a second resize composes with the first, relative to ori_shape
    results = ResizeParts(2)(results)
    assert results['scale_factor'] == (0.5, 0.5) and results['img_shape'] == (2, 2)
    np.testing.assert_allclose(results['gt_landmarks'], [[0.75, 1.5], [0.25, 0.25]])


def test_normalised_landmark_error_is_invariant_to_anisotropic_resizing():
    # per-axis errors over per-axis norms do not change when x and y scale differently
    gt = _results()
    pred = dict(_results(), gt_landmarks=gt['gt_landmarks'] + np.float32([1.0, 2.0]))
    before = (pred['gt_landmarks'] - gt['gt_landmarks']) / gt['landmark_norm']
    gt, pred = ResizeParts((12, 2))(gt), ResizeParts((12, 2))(pred)
    after = (pred['gt_landmarks'] - gt['gt_landmarks']) / gt['landmark_norm']
    np.testing.assert_allclose(after, before, rtol=1e-6)


def test_same_size_is_a_no_op_on_pixels():
    results = _results()
    out = ResizeParts(4)(dict(results))
    np.testing.assert_array_equal(out['gt_seg_map'], results['gt_seg_map'])
    assert out['scale_factor'] == (1.0, 1.0)


def test_bad_arguments_and_inputs_raise():
    for scale in (0, (4, ), (4, 0), 2.5, (True, 4)):
        with pytest.raises(ValueError, match='scale must be a positive int or a'):
            ResizeParts(scale)
    with pytest.raises(KeyError, match="needs 'img'"):
        ResizeParts(4)(dict())
    results = _results()
    results['gt_fg_mask'] = results['gt_fg_mask'][:3]
    with pytest.raises(ValueError, match=r"'gt_fg_mask' is \(3, 4\) but 'img' is \(4, 4\)"):
        ResizeParts(4)(results)
    with pytest.raises(ValueError, match="'img' must be an"):
        ResizeParts(4)(dict(img=np.zeros((4, 4), dtype=np.uint8)))
