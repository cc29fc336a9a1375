"""Tiny PartDataSample factories shared by the evaluation tests."""
import pytest
import torch
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
