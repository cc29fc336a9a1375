"""Tiny PartDataSample factories shared by the evaluation tests."""
from itertools import zip_longest

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData

from partseg.structures import PartDataSample


def part_logits_at(pixels, height=4, width=4):
    """(K+1, H, W) float64 logits whose softmax puts part k (1-based) on ``pixels[k-1]`` = (row,
    col) with mass 1 - O(e^-50), so its Eq. (8) centroid is that pixel's centre
    ((col + .5) / W, (row + .5) / H); background wins everywhere else.
    """
    logits = torch.full((len(pixels) + 1, height, width), -50.0, dtype=torch.float64)
    logits[0] = 0.0
    for k, (row, col) in enumerate(pixels, start=1):
        logits[k, row, col] = 50.0
    return logits


def build_sample(split='test',
                 part_pixels=((0, 0), ),
                 landmarks=((0.5, 0.5), ),
                 visible=None,
                 norm=(1.0, 1.0),
                 img_hw=(4, 4),
                 ori_hw=None,
                 pred=None,
                 gt_fg=None,
                 logits=None):
    """A PartDataSample as a model's ``predict`` + ``PackPartInputs`` would leave it."""
    h, w = img_hw
    sample = PartDataSample(
        metainfo=dict(img_shape=(h, w), ori_shape=ori_hw or (h, w), regression_split=split))
    if logits is None:
        logits = part_logits_at(part_pixels, h, w)
    sample.seg_logits = PixelData(data=logits)
    sample.pred_sem_seg = PixelData(
        data=logits.argmax(0, keepdim=True) if pred is None else torch.as_tensor(pred)[None])
    sample.gt_landmarks = torch.tensor(landmarks, dtype=torch.float32)
    if visible is not None:
        sample.gt_landmarks_visible = torch.tensor(visible, dtype=torch.bool)
    sample.landmark_norm = torch.tensor(norm, dtype=torch.float32)
    if gt_fg is not None:
        sample.gt_fg_mask = PixelData(data=torch.as_tensor(gt_fg, dtype=torch.bool)[None])
    return sample


@pytest.fixture
def make_sample():
    return build_sample


@pytest.fixture
def make_logits():
    return part_logits_at


def evaluate_like_evaluator(metric, samples, batch_size=2):
    """Score ``samples`` through mmengine's ``Evaluator`` (``to_dict()`` per sample, batch by
    batch, then ``evaluate(size)``); returns the prefixed metrics."""
    evaluator = Evaluator(metric)
    for start in range(0, len(samples), batch_size):
        batch = samples[start:start + batch_size]
        evaluator.process(batch, dict(inputs=None, data_samples=batch))
    return evaluator.evaluate(len(samples))


def evaluate_like_ddp(make_metric, samples, world_size=2, batch_size=2):
    """Score ``samples`` as ``world_size`` ranks would and return the unprefixed metrics.

    Mirrors mmengine: ``DefaultSampler`` pads the index list by wrapping around to a multiple of
    ``world_size`` and gives rank r the indices r, r + world_size, ...; each rank's metric
    processes its share batch by batch; ``collect_results`` interleaves the ranks' ``results``
    (``zip_longest``) and truncates to ``len(samples)``; rank 0 computes.
    """
    n = len(samples)
    total = -(-n // world_size) * world_size
    indices = list(range(n)) + list(range(total - n))
    ranks = [make_metric() for _ in range(world_size)]
    for rank, metric in enumerate(ranks):
        share = [samples[i] for i in indices[rank::world_size]]
        for start in range(0, len(share), batch_size):
            batch = share[start:start + batch_size]
            metric.process(dict(inputs=None, data_samples=batch), [s.to_dict() for s in batch])
    gathered = [
        r for part in zip_longest(*(m.results for m in ranks)) for r in part if r is not None
    ][:n]
    return ranks[0].compute_metrics(gathered)


def evaluate_in_two_chunks(make_metric, samples):
    """Two 'ranks' holding the first and the second half; results concatenated, then scored."""
    half = len(samples) // 2
    first, second = make_metric(), make_metric()
    first.process(None, [s.to_dict() for s in samples[:half]])
    second.process(None, [s.to_dict() for s in samples[half:]])
    return first.compute_metrics(second.results + first.results)


@pytest.fixture
def run_evaluator():
    return evaluate_like_evaluator


@pytest.fixture
def run_ddp():
    return evaluate_like_ddp


@pytest.fixture
def run_two_chunks():
    return evaluate_in_two_chunks
