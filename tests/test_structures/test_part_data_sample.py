"""PartDataSample: the added fields, their type checks, and the dict an Evaluator sees."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from partseg.structures import PartDataSample


def _sample():
    sample = PartDataSample(metainfo=dict(img_shape=(2, 3), regression_split='train'))
    sample.gt_fg_mask = PixelData(data=torch.ones(1, 2, 3, dtype=torch.bool))
    sample.gt_landmarks = torch.tensor([[0.5, 1.5]])
    sample.gt_landmarks_visible = torch.tensor([True])
    sample.landmark_norm = torch.tensor([3.0, 2.0])
    sample.seg_logits = PixelData(data=torch.zeros(3, 2, 3))
    return sample


def test_fields_round_trip_and_to_dict():
    sample = _sample()
    assert isinstance(sample, SegDataSample)
    assert sample.gt_fg_mask.data.shape == (1, 2, 3)
    assert sample.landmark_norm.tolist() == [3.0, 2.0]
    as_dict = sample.to_dict()  # what mmengine's Evaluator hands to BaseMetric.process
    assert set(as_dict) == {
        'img_shape', 'regression_split', 'gt_fg_mask', 'gt_landmarks', 'gt_landmarks_visible',
        'landmark_norm', 'seg_logits'
    }
    assert as_dict['gt_fg_mask']['data'].dtype == torch.bool
    assert as_dict['seg_logits']['data'].shape == (3, 2, 3)
    assert as_dict['gt_landmarks'].tolist() == [[0.5, 1.5]]


def test_fields_can_be_deleted_and_moved():
    sample = _sample()
    del sample.gt_landmarks, sample.gt_landmarks_visible, sample.landmark_norm, sample.gt_fg_mask
    assert 'gt_landmarks' not in sample and 'gt_fg_mask' not in sample
    moved = _sample().to('cpu')
    assert moved.gt_landmarks.tolist() == [[0.5, 1.5]]


@pytest.mark.parametrize('field, value', [
    ('gt_fg_mask', torch.ones(1, 2, 3, dtype=torch.bool)),
    ('gt_landmarks', [[0.5, 1.5]]),
    ('gt_landmarks_visible', (True, )),
    ('landmark_norm', 3.0),
])
def test_wrong_types_raise_a_one_line_type_error(field, value):
    with pytest.raises(TypeError, match=f'PartDataSample.{field} must be a '):
        setattr(PartDataSample(), field, value)
