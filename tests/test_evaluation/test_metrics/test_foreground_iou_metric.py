"""ForegroundIoUMetric: per-image IoU of argmax != background, its mean, and the baselines."""
import pytest
import torch

from partseg.evaluation.metrics import ForegroundIoUMetric


def _mask(rows, cols, hw=(4, 4)):
    mask = torch.zeros(hw, dtype=torch.bool)
    mask[rows, cols] = True
    return mask


# Image A: GT = top-left 2 x 2, prediction = rows 0-1, cols 0-2 with labels 1 and 2 (both
# foreground): IoU 4 / 6. Image B: GT = row 3, prediction empty: IoU 0.
GT_A, GT_B = _mask(slice(0, 2), slice(0, 2)), _mask(3, slice(None))
PRED_A = torch.zeros(4, 4, dtype=torch.long)
PRED_A[0:2, 0:2], PRED_A[0:2, 2] = 1, 2
PRED_B = torch.zeros(4, 4, dtype=torch.long)


def _samples(make_sample):
    return [make_sample(pred=PRED_A, gt_fg=GT_A), make_sample(pred=PRED_B, gt_fg=GT_B)]


def test_mean_per_image_iou_and_baselines_by_hand(make_sample, run_evaluator):
    metrics = run_evaluator(ForegroundIoUMetric(), _samples(make_sample))
    assert metrics['parts/fg_iou'] == pytest.approx((4 / 6 + 0) / 2)  # not pooled: 4 / 10
    # all foreground: 4 / 16 for both images
    assert metrics['parts/fg_iou_all_foreground_baseline'] == pytest.approx(0.25)
    # a centred ellipse with semi-axes 0.35 x 4 = 1.4 px holds the pixel centres at offsets
    # (+-0.5, +-0.5) from (2, 2) only, the central 2 x 2 block: A shares pixel (1, 1), IoU 1 / 7;
    # B shares nothing, IoU 0
    assert metrics['parts/fg_iou_centred_ellipse_baseline'] == pytest.approx((1 / 7 + 0) / 2)
    assert len(metrics) == 3


def test_baselines_can_be_left_out_and_ellipse_axes_set(make_sample, run_evaluator):
    metrics = run_evaluator(ForegroundIoUMetric(report_baselines=False), _samples(make_sample))
    assert set(metrics) == {'parts/fg_iou'}
    # semi-axes (0.5 W, 0.5 H) = 2 px: all pixel centres but the 4 corners ((1.5/2)^2 * 2 > 1)
    wide = run_evaluator(ForegroundIoUMetric(ellipse_axes=(0.5, 0.5)), _samples(make_sample))
    # A: intersection = GT minus corner (0, 0) = 3, union 12 + 4 - 3 -> 3 / 13;
    # B: row 3 minus its 2 corners = 2, union 12 + 4 - 2 -> 2 / 14
    assert wide['parts/fg_iou_centred_ellipse_baseline'] == pytest.approx((3 / 13 + 2 / 14) / 2)


def test_empty_prediction_and_gt_score_one(make_sample, run_evaluator):
    empty = torch.zeros(4, 4, dtype=torch.bool)
    metrics = run_evaluator(ForegroundIoUMetric(), [make_sample(pred=PRED_B, gt_fg=empty)])
    assert metrics['parts/fg_iou'] == 1.0
    assert metrics['parts/fg_iou_all_foreground_baseline'] == 0.0


def test_prediction_at_another_resolution_is_resized_nearest(make_sample, run_evaluator):
    # a 2 x 2 prediction (an EncoderDecoder at ori_shape) with its top-left cell foreground
    # covers exactly GT_A's top-left 2 x 2 block once resized to 4 x 4
    sample = make_sample(pred=torch.tensor([[3, 0], [0, 0]]), gt_fg=GT_A)
    assert run_evaluator(ForegroundIoUMetric(), [sample])['parts/fg_iou'] == 1.0
    # 3 x 3 -> 4 x 4 at pixel centres: source index floor((i + .5) * 3 / 4) = 0, 1, 1, 2
    sample = make_sample(pred=torch.tensor([[0, 0, 0], [0, 1, 0], [0, 0, 0]]), gt_fg=GT_A)
    # prediction = rows 1-2 x cols 1-2; GT_A shares (1, 1): IoU 1 / 7
    assert run_evaluator(ForegroundIoUMetric(), [sample])['parts/fg_iou'] == pytest.approx(1 / 7)


def test_split_over_ranks_gives_the_same_scores(make_sample, run_evaluator, run_ddp,
                                                run_two_chunks):
    samples = _samples(make_sample) * 2 + [make_sample(pred=PRED_A, gt_fg=GT_B)]
    single = {
        key.split('/')[1]: value
        for key, value in run_evaluator(ForegroundIoUMetric(), samples).items()
    }
    # A, B, A, B, and A's prediction on B's GT (IoU 0): mean (2 x 2/3) / 5
    assert single['fg_iou'] == pytest.approx(4 / 3 / 5)
    assert run_ddp(ForegroundIoUMetric, samples) == pytest.approx(single)  # one padded sample
    assert run_two_chunks(ForegroundIoUMetric, samples) == pytest.approx(single)


def test_bad_inputs_raise_one_line_errors(make_sample):
    metric = ForegroundIoUMetric()
    no_gt = make_sample(pred=PRED_A).to_dict()
    with pytest.raises(KeyError, match="no 'gt_fg_mask'"):
        metric.process(None, [no_gt])
    as_uint8 = make_sample(pred=PRED_A, gt_fg=GT_A).to_dict()
    as_uint8['gt_fg_mask']['data'] = as_uint8['gt_fg_mask']['data'].to(torch.uint8) * 255
    with pytest.raises(TypeError, match="'gt_fg_mask' must be a bool mask"):
        metric.process(None, [as_uint8])
    with pytest.raises(ValueError, match='no samples were processed'):
        metric.compute_metrics([])
    with pytest.raises(ValueError, match='ellipse_axes'):
        ForegroundIoUMetric(ellipse_axes=(0.3, 0.0))


def _tagged_samples(make_sample):
    """A (test, IoU 4/6), a train image without a mask, B's prediction on GT_B (test, IoU 0), a
    second maskless train image, A again (test): the Taichi layout of regression-fit images
    without masks beside scored test images with masks."""
    return [
        make_sample(split='test', pred=PRED_A, gt_fg=GT_A),
        make_sample(split='train', pred=PRED_A),
        make_sample(split='test', pred=PRED_B, gt_fg=GT_B),
        make_sample(split='train', pred=PRED_B),
        make_sample(split='test', pred=PRED_A, gt_fg=GT_A),
    ]


def test_split_scores_only_the_tagged_samples(make_sample, run_evaluator):
    metrics = run_evaluator(ForegroundIoUMetric(split='test'), _tagged_samples(make_sample))
    # test images only: (4/6 + 0 + 4/6) / 3; the maskless train images are never read
    assert metrics['parts/fg_iou'] == pytest.approx(4 / 9)
    # all foreground: 4 / 16 on each of the three; ellipse: 1/7, 0, 1/7
    assert metrics['parts/fg_iou_all_foreground_baseline'] == pytest.approx(0.25)
    assert metrics['parts/fg_iou_centred_ellipse_baseline'] == pytest.approx(2 / 21)
    # split='train' on images that all have masks: only B (IoU 0) is tagged 'train'
    samples = [
        make_sample(split='test', pred=PRED_A, gt_fg=GT_A),
        make_sample(split='train', pred=PRED_B, gt_fg=GT_B)
    ]
    assert run_evaluator(ForegroundIoUMetric(split='train'), samples)['parts/fg_iou'] == 0.0
    # split=None (default) scores both: (4/6 + 0) / 2
    assert run_evaluator(ForegroundIoUMetric(), samples)['parts/fg_iou'] == pytest.approx(1 / 3)


def test_split_is_exact_over_ranks(make_sample, run_evaluator, run_ddp, run_two_chunks):
    samples = _tagged_samples(make_sample)

    def make():
        return ForegroundIoUMetric(split='test')

    # 5 samples on 2 ranks: the sampler pads with sample 0 (a test image); a skipped sample that
    # left no entry would shift the truncation and count that duplicate (IoU 4/6) again
    assert run_ddp(make, samples)['fg_iou'] == pytest.approx(4 / 9)
    assert run_ddp(make, samples, world_size=3)['fg_iou'] == pytest.approx(4 / 9)
    assert run_two_chunks(make, samples)['fg_iou'] == pytest.approx(4 / 9)


def test_split_bad_inputs_raise_one_line_errors(make_sample):
    with pytest.raises(ValueError, match="split must be None or one of \\('train', 'test'\\)"):
        ForegroundIoUMetric(split='val')
    metric = ForegroundIoUMetric(split='test')
    untagged = make_sample(pred=PRED_A, gt_fg=GT_A).to_dict()
    del untagged['regression_split']
    with pytest.raises(KeyError, match="no 'regression_split'"):
        metric.process(None, [untagged])
    mistagged = make_sample(split='Test', pred=PRED_A, gt_fg=GT_A).to_dict()
    with pytest.raises(ValueError, match="'regression_split' must be 'train' or 'test'"):
        metric.process(None, [mistagged])
    metric.process(None, [make_sample(split='train', pred=PRED_A).to_dict()])
    with pytest.raises(ValueError, match="no samples with regression_split 'test' were processed"):
        metric.compute_metrics(metric.results)


def test_official_smoothing_scores_empty_union_zero():
    from mmengine.structures import PixelData

    from partseg.evaluation.metrics import ForegroundIoUMetric
    from partseg.structures import PartDataSample
    samples = []
    for pred_fg, gt_fg in ((True, True), (False, False)):
        sample = PartDataSample()
        sample.pred_sem_seg = PixelData(data=torch.full((1, 2, 2), int(pred_fg)))
        sample.gt_fg_mask = PixelData(data=torch.full((1, 2, 2), gt_fg))
        samples.append(sample.to_dict())
    official = ForegroundIoUMetric(smooth=1e-6, report_baselines=False)
    official.process({}, samples)
    assert official.compute_metrics(official.results)['fg_iou'] == pytest.approx(
        (4 / (4 + 1e-6) + 0.0) / 2, abs=1e-12)
    default = ForegroundIoUMetric(report_baselines=False)
    default.process({}, samples)
    assert default.compute_metrics(default.results)['fg_iou'] == 1.0
    with pytest.raises(ValueError, match='smooth'):
        ForegroundIoUMetric(smooth=-1.0)
