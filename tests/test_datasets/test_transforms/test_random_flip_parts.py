"""RandomFlipParts: image, masks and landmarks mirrored consistently; left/right landmark swap."""
import numpy as np
import pytest

from partseg.datasets.transforms import RandomFlipParts


def _results():
    img = np.arange(2 * 4 * 3, dtype=np.uint8).reshape(2, 4, 3)
    seg = np.array([[1, 1, 0, 2], [0, 3, 0, 2]], dtype=np.uint8)
    return dict(
        img=img,
        gt_seg_map=seg,
        gt_fg_mask=seg > 0,
        gt_landmarks=np.array([[0.5, 0.5], [3.5, 1.5], [1.25, 1.0]], dtype=np.float32),
        gt_landmarks_visible=np.array([True, False, True]))


def _label_at(seg, points):
    cols, rows = np.floor(points).astype(int).T
    return seg[rows, cols]


def test_flip_mirrors_pixels_and_maps_x_to_width_minus_x():
    source = _results()
    out = RandomFlipParts(prob=1.0)(_results())
    assert out['flip'] is True and out['flip_direction'] == 'horizontal'
    np.testing.assert_array_equal(out['img'], source['img'][:, ::-1])
    np.testing.assert_array_equal(out['gt_seg_map'], [[2, 0, 1, 1], [2, 0, 3, 0]])
    np.testing.assert_array_equal(out['gt_fg_mask'], out['gt_seg_map'] > 0)
    assert out['img'].flags['C_CONTIGUOUS'] and out['gt_seg_map'].flags['C_CONTIGUOUS']
    # x -> 4 - x: pixel j's centre j + .5 lands on the centre of pixel 3 - j
    np.testing.assert_allclose(out['gt_landmarks'], [[3.5, 0.5], [0.5, 1.5], [2.75, 1.0]])
    np.testing.assert_array_equal(out['gt_landmarks_visible'], [True, False, True])
    # every landmark still sits on the label it sat on before the flip
    np.testing.assert_array_equal(
        _label_at(out['gt_seg_map'], out['gt_landmarks']),
        _label_at(source['gt_seg_map'], source['gt_landmarks']))


def test_landmark_flip_indices_swap_left_and_right():
    # landmarks 0 and 1 are a left/right pair: after the flip, slot 0 holds the old landmark 1
    out = RandomFlipParts(prob=1.0, landmark_flip_indices=[1, 0, 2])(_results())
    np.testing.assert_allclose(out['gt_landmarks'], [[0.5, 1.5], [3.5, 0.5], [2.75, 1.0]])
    np.testing.assert_array_equal(out['gt_landmarks_visible'], [False, True, True])


def test_no_flip_leaves_everything_and_probability_is_respected():
    source = _results()
    out = RandomFlipParts(prob=0.0)(_results())
    assert out['flip'] is False and out['flip_direction'] is None
    for key in ('img', 'gt_seg_map', 'gt_landmarks'):
        np.testing.assert_array_equal(out[key], source[key])
    np.random.seed(0)
    transform = RandomFlipParts(prob=0.25)
    flips = [transform(dict(img=source['img']))['flip'] for _ in range(400)]
    assert 0.18 < np.mean(flips) < 0.32


def test_bad_arguments_and_inputs_raise():
    with pytest.raises(ValueError, match=r'prob must lie in \[0, 1\]'):
        RandomFlipParts(prob=1.5)
    with pytest.raises(ValueError, match='landmark_flip_indices must be a permutation'):
        RandomFlipParts(landmark_flip_indices=[0, 0, 2])
    with pytest.raises(ValueError, match="has 2 entries but 'gt_landmarks' has 3 points"):
        RandomFlipParts(prob=1.0, landmark_flip_indices=[1, 0])(_results())
    results = _results()
    results['gt_seg_map'] = results['gt_seg_map'][:, :3]
    with pytest.raises(ValueError, match=r"'gt_seg_map' is \(2, 3\) but 'img' is \(2, 4\)"):
        RandomFlipParts(prob=1.0)(results)
    with pytest.raises(KeyError, match="needs 'img'"):
        RandomFlipParts()(dict())
