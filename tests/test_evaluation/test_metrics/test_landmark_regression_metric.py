"""LandmarkRegressionMetric against hand-computed fits on 4 x 4 images with one part.

The part of each sample sits on one pixel (row, col), so its Eq. (8) centroid is that pixel's
centre ((col + .5) / 4, (row + .5) / 4); in eighths of the image: (2 col + 1, 2 row + 1) / 8.
Train set (centroid x -> landmark y, both in eighths of the image; landmarks in pixels = y / 2):

    pixel (0, 0): x = (1, 1) -> y = (2, 1)      landmark (1.0, 0.5) px
    pixel (0, 1): x = (3, 1) -> y = (4, 1)      landmark (2.0, 0.5) px
    pixel (1, 0): x = (1, 3) -> y = (2, 3)      landmark (1.0, 1.5) px

so y = x + (1, 0) / 8: affine, not linear. No-bias normal equations (the 1/8 scales cancel):
X^T X = [[11, 7], [7, 11]], inverse [[11, -7], [-7, 11]] / 72; X^T y_x = (16, 12) ->
w_x = (92, 20) / 72 = (23, 5) / 18; X^T y_y = (7, 11) -> w_y = (0, 1) (exact).
Test sample on pixel (1, 1): x = (3, 3) / 8, predicted y_x = (23 + 5) / 18 * 3 / 8 = 7 / 12,
GT 4 / 8, so the x error is 1 / 12 of the image = 1/3 pixel, the y error 0.
"""
import math

import pytest
import torch

from partseg.evaluation.metrics import LandmarkRegressionMetric

TRAIN = [((0, 0), (1.0, 0.5)), ((0, 1), (2.0, 0.5)), ((1, 0), (1.0, 1.5))]
NO_BIAS_PX_ERROR = 1 / 3  # x error of the no-bias fit at pixel (1, 1), in pixels


def _train(make_sample, **kwargs):
    return [
        make_sample('train', part_pixels=(pixel, ), landmarks=(point, ), **kwargs)
        for pixel, point in TRAIN
    ]


def _test(make_sample, norm=(2.0, 2.0), pixel=(1, 1), point=(2.0, 1.5), **kwargs):
    return make_sample('test', part_pixels=(pixel, ), landmarks=(point, ), norm=norm, **kwargs)


@pytest.mark.parametrize(
    'fit, expected',
    [
        ('no_bias', NO_BIAS_PX_ERROR / 2 * 100),  # (1/3 px) / (norm 2 px) = 1/6 -> 16.67 %
        ('bias', 0.0),  # the affine map is exact with a bias column
        ('standardized', 0.0),  # centring X and Y acts like a bias
    ])
def test_fits_by_hand(make_sample, run_evaluator, fit, expected):
    samples = _train(make_sample) + [_test(make_sample)]
    metrics = run_evaluator(LandmarkRegressionMetric(fit=fit), samples)
    assert metrics['parts/landmark_error'] == pytest.approx(expected, abs=1e-6)
    # mean train landmark (8/3, 5/3) / 8 vs GT (4, 3) / 8: (1/6, 1/6) of 4 px = (2/3, 2/3) px;
    # / norm 2 -> (1/3, 1/3), L2 sqrt(2) / 3 = 47.14 %
    assert metrics['parts/landmark_error_mean_baseline'] == pytest.approx(
        math.sqrt(2) / 3 * 100, abs=1e-6)
    assert set(metrics) == {'parts/landmark_error', 'parts/landmark_error_mean_baseline'}


def test_error_is_normalised_per_image_and_per_axis(make_sample, run_evaluator):
    samples = _train(make_sample) + [
        _test(make_sample, norm=(2.0, 2.0)),  # 1/3 px / 2 = 1/6
        _test(make_sample, norm=(1 / 3, 1.0)),  # 1/3 px / (1/3) = 1
    ]
    metrics = run_evaluator(LandmarkRegressionMetric(), samples)
    assert metrics['parts/landmark_error'] == pytest.approx((1 / 6 + 1) / 2 * 100, abs=1e-5)
    # baseline errors (2/3, 2/3) px: / (2, 2) -> sqrt(2)/3; / (1/3, 1) -> (2, 2/3), sqrt(40)/3
    assert metrics['parts/landmark_error_mean_baseline'] == pytest.approx(
        (math.sqrt(2) / 3 + math.sqrt(40) / 3) / 2 * 100, abs=1e-5)


def test_only_train_tagged_samples_fit_and_only_test_tagged_ones_score(make_sample, run_evaluator):
    # An outlier tagged 'test' on pixel (0, 0): predicted x = 28 / 18 / 8 = 7 / 36 of 4 px = 7/9
    # px vs GT 3 px -> 20/9 px, / 2 = 10/9. Had it been fitted, the fit would move.
    outlier = _test(make_sample, pixel=(0, 0), point=(3.0, 0.5))
    samples = _train(make_sample) + [_test(make_sample), outlier]
    metrics = run_evaluator(LandmarkRegressionMetric(report_baselines=False), samples)
    assert metrics == {'parts/landmark_error': pytest.approx((1 / 6 + 10 / 9) / 2 * 100)}
    # the same outlier tagged 'train' changes the fit, hence the score of the other test sample
    outlier.set_metainfo(dict(regression_split='train'))
    refit = run_evaluator(
        LandmarkRegressionMetric(report_baselines=False), samples[:3] + [outlier, samples[3]])
    assert refit['parts/landmark_error'] != pytest.approx(1 / 6 * 100, abs=1e-3)


def test_invisible_landmarks_are_neither_fitted_nor_scored(make_sample, run_evaluator):
    # landmark 1 duplicates landmark 0 but is invisible (NaN) in one train and one test sample
    def pair(split, pixel, point, visible, norm=(2.0, 2.0)):
        second = point if visible else (float('nan'), float('nan'))
        return make_sample(
            split,
            part_pixels=(pixel, ),
            landmarks=(point, second),
            visible=(True, visible),
            norm=norm)

    samples = [
        pair('train', pixel, point, visible=i != 1)
        for i, (pixel, point) in enumerate(TRAIN + [((1, 1), (2.0, 1.5))])
    ]
    samples += [pair('test', (1, 1), (2.0, 1.5), True), pair('test', (1, 1), (2.0, 1.5), False)]
    metrics = run_evaluator(LandmarkRegressionMetric(fit='bias'), samples)
    # the bias fit of either landmark is exact on its visible train rows
    assert metrics['parts/landmark_error'] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    'mode, frame, expected',
    [
        ('mae_sum', 'ori_shape', 2 / 3),  # x error 1/3 px in a 4 px input, 8 px original: 2/3 px
        ('l2_sum', 'ori_shape', 2 / 3),
        ('mae_sum', 'img_shape', 1 / 3),
    ])
def test_taichi_sums_in_pixels(make_sample, run_evaluator, mode, frame, expected):
    samples = _train(make_sample, ori_hw=(8, 8)) + [_test(make_sample, ori_hw=(8, 8))]
    metric = LandmarkRegressionMetric(mode=mode, error_frame=frame, report_baselines=False)
    key = 'keypoint_mae' if mode == 'mae_sum' else 'keypoint_l2_sum'
    assert run_evaluator(metric, samples) == {f'parts/{key}': pytest.approx(expected, abs=1e-6)}


def test_singular_gram_falls_back_to_ridge(make_sample, run_evaluator):
    # two parts on the same pixel: duplicated centroid columns, X^T X singular. The ridge
    # solution is (nearly) the minimum-norm one, whose predictions equal the one-part fit's.
    samples = [
        make_sample('train', part_pixels=(pixel, pixel), landmarks=(point, ))
        for pixel, point in TRAIN
    ]
    samples.append(
        make_sample(
            'test', part_pixels=((1, 1), (1, 1)), landmarks=((2.0, 1.5), ), norm=(2.0, 2.0)))
    metrics = run_evaluator(LandmarkRegressionMetric(report_baselines=False), samples)
    assert metrics['parts/landmark_error'] == pytest.approx(NO_BIAS_PX_ERROR / 2 * 100, rel=1e-4)


def test_split_over_ranks_gives_the_same_scores(make_sample, run_evaluator, run_ddp,
                                                run_two_chunks):
    samples = _train(make_sample) + [
        _test(make_sample, norm=(2.0, 2.0)),
        _test(make_sample, norm=(1 / 3, 1.0)),
        _test(make_sample, pixel=(0, 0), point=(3.0, 0.5)),
    ]
    single = run_evaluator(LandmarkRegressionMetric(), samples)
    single = {key.split('/')[1]: value for key, value in single.items()}
    assert run_ddp(LandmarkRegressionMetric, samples) == pytest.approx(single)  # 6 + 0 padding
    assert run_ddp(LandmarkRegressionMetric, samples[:5]) == pytest.approx({
        key.split('/')[1]: value
        for key, value in run_evaluator(LandmarkRegressionMetric(), samples[:5]).items()
    })  # 5 + 1 padded
    assert run_two_chunks(LandmarkRegressionMetric, samples) == pytest.approx(single)


def test_bad_samples_raise_one_line_errors(make_sample):
    metric = LandmarkRegressionMetric()
    no_tag = _test(make_sample).to_dict()
    del no_tag['regression_split']
    with pytest.raises(KeyError, match="no 'regression_split'"):
        metric.process(None, [no_tag])
    with pytest.raises(ValueError, match="'regression_split' must be 'train' or 'test'"):
        metric.process(None, [make_sample('val').to_dict()])
    with pytest.raises(ValueError, match="'landmark_norm' must be 2 positive"):
        metric.process(None, [_test(make_sample, norm=(0.0, 1.0)).to_dict()])
    background_only = _test(make_sample).to_dict()
    background_only['seg_logits']['data'] = torch.zeros(1, 4, 4)
    with pytest.raises(ValueError, match=r"'seg_logits' must be \(K\+1, H, W\) with K >= 1"):
        metric.process(None, [background_only])
    metric.process(None, [s.to_dict() for s in _train(make_sample)])
    with pytest.raises(ValueError, match="both regression_split values, got 3 'train' and 0"):
        metric.compute_metrics(metric.results)


@pytest.mark.parametrize('kwargs, message', [
    (dict(fit='lasso'), 'fit must be one of'),
    (dict(mode='mse'), 'mode must be one of'),
    (dict(error_frame='raw'), 'error_frame must be one of'),
    (dict(ridge_lambda=0), 'ridge_lambda must be > 0'),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LandmarkRegressionMetric(**kwargs)


def test_official_centroid_grid_hand_values():
    """Official test_seg.py mask2keypoints: grid linspace(0, S, S), mass + 1e-6 (here / S)."""
    from partseg.evaluation.metrics import LandmarkRegressionMetric
    maps = torch.zeros(1, 2, 4, 4, dtype=torch.float64)
    maps[0, 0, 1, 2] = 1.0  # row 1, column 2
    maps[0, 1, 3, 0] = 0.5
    maps[0, 1, 3, 1] = 0.5
    official = LandmarkRegressionMetric(centroid_grid='linspace').centroids(maps)
    expected = torch.tensor([[[2 / 3 / (1 + 1e-6), 1 / 3 /
                               (1 + 1e-6)], [0.5 / 3 / (1 + 1e-6), 1 / (1 + 1e-6)]]],
                            dtype=torch.float64)
    torch.testing.assert_close(official, expected, rtol=0, atol=1e-12)
    centres = LandmarkRegressionMetric().centroids(maps)
    torch.testing.assert_close(centres[0, 0], torch.tensor([2.5 / 4, 1.5 / 4], dtype=torch.float64))
    with pytest.raises(ValueError, match='centroid_grid'):
        LandmarkRegressionMetric(centroid_grid='corners')
