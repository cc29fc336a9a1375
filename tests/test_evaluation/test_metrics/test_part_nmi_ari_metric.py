"""PartNMIARIMetric: NMI / ARI of keypoint id vs. predicted part, with and without background.

Four 4 x 4 images, K = 2 parts, two keypoints: kp0 at (0.5, 0.5) px (pixel row 0, col 0) and kp1
at (3.2, 2.7) px (pixel row 2, col 3). Predicted labels at (kp0, kp1) per image:
(1, 1), (1, 2), (1, 2), (background, background); on image 4 the best foreground part (argmax
of seg_logits[1:]) is 1 at kp0 and 2 at kp1.
"""
import math

import pytest
import torch

from partseg.evaluation.metrics import PartNMIARIMetric

KEYPOINTS = ((0.5, 0.5), (3.2, 2.7))
PIXELS = ((0, 0), (2, 3))
LABELS = ((1, 1), (1, 2), (1, 2), (0, 0))
BEST_FOREGROUND = (1, 2)  # at kp0 and kp1 where they fall on background


def _logits(labels):
    """(3, 4, 4) logits: background wins off the keypoints; at keypoint i label labels[i] wins,
    and where that is background, part BEST_FOREGROUND[i] is the runner-up."""
    logits = torch.zeros(3, 4, 4)
    logits[0] = 1.0
    for (row, col), label, best in zip(PIXELS, labels, BEST_FOREGROUND):
        logits[label, row, col] = 5.0
        if label == 0:
            logits[best, row, col] = 2.0
    return logits


def _samples(make_sample, labels=LABELS, **kwargs):
    return [make_sample(logits=_logits(pair), landmarks=KEYPOINTS, **kwargs) for pair in labels]


def _nmi_2x2(table):
    """NMI (arithmetic normalisation) of a 2 x C table, written out for the tests."""
    n = sum(map(sum, table))
    rows = [sum(r) for r in table]
    cols = [sum(c) for c in zip(*table)]
    mi = sum(v / n * math.log(v * n / (rows[i] * cols[j])) for i, r in enumerate(table)
             for j, v in enumerate(r) if v)
    entropy = lambda counts: -sum(c / n * math.log(c / n) for c in counts if c)  # noqa: E731
    return mi / ((entropy(rows) + entropy(cols)) / 2)


def test_with_and_without_background_by_hand(make_sample, run_evaluator):
    metrics = run_evaluator(PartNMIARIMetric(), _samples(make_sample))
    # with background: rows kp0, kp1; columns labels 0, 1, 2 -> [[1, 3, 0], [1, 1, 2]], n = 8.
    # ARI: sum C(n_ij, 2) = 3 + 1 = 4; rows C(4,2) * 2 = 12; cols 1 + 6 + 1 = 8; C(8, 2) = 28;
    # E = 12 * 8 / 28 = 24/7; max = 10 -> (4 - 24/7) / (10 - 24/7) = 2/23
    assert metrics['parts/ari'] == pytest.approx(2 / 23 * 100)
    # NMI: MI = 3/8 ln(3*8 / (4*4)) + 1/8 ln(8 / 16) + 2/8 ln(2*8 / (4*2)) = 3/8 ln 1.5 + 1/8 ln 2
    # H(kp) = ln 2, H(label) = 1.5 ln 2 -> NMI = MI / (1.25 ln 2)
    mi = 3 / 8 * math.log(1.5) + math.log(2) / 8
    assert metrics['parts/nmi'] == pytest.approx(mi / (1.25 * math.log(2)) * 100)
    assert _nmi_2x2([[1, 3, 0], [1, 1, 2]]) == pytest.approx(mi / (1.25 * math.log(2)))
    # without background (drop the keypoints on background): [[3, 0], [1, 2]], ARI 12/37
    assert metrics['parts/ari_fg'] == pytest.approx(12 / 37 * 100)
    assert metrics['parts/nmi_fg'] == pytest.approx(_nmi_2x2([[3, 0], [1, 2]]) * 100)
    assert metrics['parts/nmi_fg'] == pytest.approx(47.8704, abs=1e-4)
    assert set(metrics) == {'parts/nmi', 'parts/ari', 'parts/nmi_fg', 'parts/ari_fg'}


def test_argmax_foreground_protocol_by_hand(make_sample, run_evaluator):
    metric = PartNMIARIMetric(foreground_protocol='argmax_foreground')
    metrics = run_evaluator(metric, _samples(make_sample))
    # image 4's keypoints take their best foreground part: [[4, 0], [1, 3]].
    # ARI: 6 + 3 = 9; rows 12; cols C(5,2) + C(3,2) = 13; E = 156/28 = 39/7; max 12.5
    # -> (9 - 39/7) / (12.5 - 39/7) = 48/97
    assert metrics['parts/ari_fg'] == pytest.approx(48 / 97 * 100)
    assert metrics['parts/nmi_fg'] == pytest.approx(_nmi_2x2([[4, 0], [1, 3]]) * 100)
    assert metrics['parts/ari'] == pytest.approx(2 / 23 * 100)  # with background: as before


def test_invisible_keypoints_are_skipped(make_sample, run_evaluator):
    # image 5 has both keypoints on part 2 but only kp1 visible: kp1's row becomes [1, 1, 3]
    samples = _samples(make_sample) + [
        make_sample(logits=_logits((2, 2)), landmarks=KEYPOINTS, visible=(False, True))
    ]
    metrics = run_evaluator(PartNMIARIMetric(), samples)
    assert metrics['parts/nmi'] == pytest.approx(_nmi_2x2([[1, 3, 0], [1, 1, 3]]) * 100)


def test_landmarks_are_mapped_to_the_prediction_frame(make_sample, run_evaluator):
    # img_shape 8 x 8, prediction 4 x 4: (6.5, 1.0) px -> (3.25, 0.5) -> pixel row 0, col 3;
    # (1.0, 7.9) px -> (0.5, 3.95) -> row 3, col 0. Labels 1 and 2 there: perfect agreement.
    pred = torch.zeros(4, 4, dtype=torch.long)
    pred[0, 3], pred[3, 0] = 1, 2
    samples = [
        make_sample(
            pred=pred,
            landmarks=((6.5, 1.0), (1.0, 7.9)),
            img_hw=(8, 8),
            logits=torch.zeros(3, 4, 4)) for _ in range(2)
    ]
    metrics = run_evaluator(PartNMIARIMetric(), samples)
    assert metrics['parts/nmi'] == pytest.approx(100.0) and metrics['parts/ari'] == 100.0


def test_all_keypoints_on_background_gives_nan_fg_scores(make_sample, run_evaluator):
    metrics = run_evaluator(PartNMIARIMetric(), _samples(make_sample, labels=((0, 0), (0, 0))))
    assert math.isnan(metrics['parts/nmi_fg']) and math.isnan(metrics['parts/ari_fg'])
    assert metrics['parts/nmi'] == 0.0  # one cluster for both keypoints: no information


def test_split_over_ranks_gives_the_same_scores(make_sample, run_evaluator, run_ddp,
                                                run_two_chunks):
    samples = _samples(make_sample) + _samples(make_sample, labels=((2, 1), ))
    for protocol in ('drop_background', 'argmax_foreground'):
        single = {
            key.split('/')[1]: value
            for key, value in run_evaluator(
                PartNMIARIMetric(foreground_protocol=protocol), samples).items()
        }

        def make():
            return PartNMIARIMetric(foreground_protocol=protocol)

        assert run_ddp(make, samples) == pytest.approx(single)  # 5 samples + 1 padded
        assert run_ddp(make, samples, world_size=3) == pytest.approx(single)
        assert run_two_chunks(make, samples) == pytest.approx(single)


def test_bad_inputs_raise_one_line_errors(make_sample):
    metric = PartNMIARIMetric()
    sample = _samples(make_sample)[0].to_dict()
    sample['pred_sem_seg']['data'] = sample['pred_sem_seg']['data'][0]  # (H, W), no channel
    with pytest.raises(ValueError, match=r"'pred_sem_seg' must be \(1, H, W\)"):
        metric.process(None, [sample])
    no_landmarks = _samples(make_sample)[0].to_dict()
    del no_landmarks['gt_landmarks']
    with pytest.raises(KeyError, match="no 'gt_landmarks'"):
        metric.process(None, [no_landmarks])
    with pytest.raises(ValueError, match='no samples were processed'):
        metric.compute_metrics([])
    with pytest.raises(ValueError, match='foreground_protocol must be one of'):
        PartNMIARIMetric(foreground_protocol='ignore')


def _tagged_samples(make_sample):
    """The four images above tagged 'test', plus one regression-fit image tagged 'train' with
    labels (2, 1), placed second so that rank padding and chunking both meet it."""
    test = _samples(make_sample, split='test')
    return test[:1] + _samples(make_sample, labels=((2, 1), ), split='train') + test[1:]


def test_split_scores_only_the_tagged_samples(make_sample, run_evaluator):
    samples = _tagged_samples(make_sample)
    metrics = run_evaluator(PartNMIARIMetric(split='test'), samples)
    # the test images alone: the table [[1, 3, 0], [1, 1, 2]] of the first test above
    assert metrics['parts/ari'] == pytest.approx(2 / 23 * 100)
    mi = 3 / 8 * math.log(1.5) + math.log(2) / 8
    assert metrics['parts/nmi'] == pytest.approx(mi / (1.25 * math.log(2)) * 100)
    assert metrics['parts/ari_fg'] == pytest.approx(12 / 37 * 100)
    # split=None adds the train image: [[1, 3, 1], [1, 2, 2]], n = 10. ARI: sum C(n_ij, 2) = 5;
    # rows 2 x C(5, 2) = 20; cols C(2,2) + C(5,2) + C(3,2) = 14; C(10, 2) = 45; E = 56/9;
    # max 17 -> (5 - 56/9) / (17 - 56/9) = -11/97
    everything = run_evaluator(PartNMIARIMetric(), samples)
    assert everything['parts/ari'] == pytest.approx(-11 / 97 * 100)
    assert everything['parts/nmi'] == pytest.approx(_nmi_2x2([[1, 3, 1], [1, 2, 2]]) * 100)
    # split='train': the one train image, kp0 -> part 2, kp1 -> part 1: perfect agreement
    train = run_evaluator(PartNMIARIMetric(split='train'), samples)
    assert train['parts/nmi'] == pytest.approx(100.0) and train['parts/ari'] == 100.0


def test_split_is_exact_over_ranks(make_sample, run_evaluator, run_ddp, run_two_chunks):
    samples = _tagged_samples(make_sample)
    expected = {
        key.split('/')[1]: value
        for key, value in run_evaluator(
            PartNMIARIMetric(split='test'), _samples(make_sample, split='test')).items()
    }

    def make():
        return PartNMIARIMetric(split='test')

    # 5 samples on 2 ranks (padded with sample 0, a test image) and on 3 (padded with 0)
    assert run_ddp(make, samples) == pytest.approx(expected)
    assert run_ddp(make, samples, world_size=3) == pytest.approx(expected)
    assert run_two_chunks(make, samples) == pytest.approx(expected)


def test_split_bad_inputs_raise_one_line_errors(make_sample):
    with pytest.raises(ValueError, match="split must be None or one of \\('train', 'test'\\)"):
        PartNMIARIMetric(split='all')
    metric = PartNMIARIMetric(split='test')
    untagged = _samples(make_sample)[0].to_dict()
    del untagged['regression_split']
    with pytest.raises(KeyError, match="no 'regression_split'"):
        metric.process(None, [untagged])
    metric.process(None, [_samples(make_sample, split='train')[0].to_dict()])
    with pytest.raises(ValueError, match="no samples with regression_split 'test' were processed"):
        metric.compute_metrics(metric.results)
