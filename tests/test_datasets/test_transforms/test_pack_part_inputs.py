"""PackPartInputs: CHW uint8 RGB inputs and a PartDataSample with the data-contract fields."""
import numpy as np
import pytest
import torch

from partseg.datasets.transforms import PackPartInputs
from partseg.structures import PartDataSample


def _results():
    img = np.zeros((2, 3, 3), dtype=np.uint8)
    img[..., 0], img[0, 1] = 255, (1, 2, 3)  # red image with one marked pixel
    seg = np.array([[0, 1, 2], [2, 0, 0]], dtype=np.uint8)
    return dict(
        img=img,
        gt_seg_map=seg,
        gt_fg_mask=seg > 0,
        gt_landmarks=np.array([[0.5, 1.5]], dtype=np.float32),
        landmark_norm=np.array([3.0, 2.0], dtype=np.float32),
        img_path='/x/a.png',
        ori_shape=(4, 6),
        img_shape=(2, 3),
        scale_factor=(0.5, 0.5),
        flip=False,
        regression_split='test',
        sample_idx=7,
        not_meta='dropped')


def test_inputs_are_chw_uint8_rgb():
    packed = PackPartInputs()(_results())
    inputs = packed['inputs']
    assert inputs.shape == (3, 2, 3) and inputs.dtype == torch.uint8 and inputs.is_contiguous()
    assert inputs[:, 0, 1].tolist() == [1, 2, 3] and inputs[0, 1, 2] == 255  # channel 0 = R


def test_data_sample_fields_and_metainfo():
    sample = PackPartInputs()(_results())['data_samples']
    assert isinstance(sample, PartDataSample)
    assert sample.gt_sem_seg.data.tolist() == [[[0, 1, 2], [2, 0, 0]]]
    assert sample.gt_sem_seg.data.dtype == torch.long
    assert sample.gt_fg_mask.data.dtype == torch.bool and sample.gt_fg_mask.data.shape == (1, 2, 3)
    assert sample.gt_landmarks.tolist() == [[0.5, 1.5]]
    assert sample.gt_landmarks.dtype == torch.float32
    assert sample.gt_landmarks_visible.tolist() == [True]  # all visible when absent
    assert sample.landmark_norm.tolist() == [3.0, 2.0]
    assert sample.metainfo == dict(
        img_path='/x/a.png',
        ori_shape=(4, 6),
        img_shape=(2, 3),
        scale_factor=(0.5, 0.5),
        flip=False,
        regression_split='test',
        sample_idx=7)


def test_only_present_fields_are_packed():
    sample = PackPartInputs(meta_keys=('img_shape', ))(dict(
        img=_results()['img'], img_shape=(2, 3)))['data_samples']
    assert set(sample.keys()) == set() and sample.metainfo == dict(img_shape=(2, 3))
    visible = PackPartInputs()(dict(_results(), gt_landmarks_visible=np.array([0])))
    assert visible['data_samples'].gt_landmarks_visible.tolist() == [False]


def test_bad_inputs_raise_one_line_errors():
    with pytest.raises(KeyError, match="needs 'img'"):
        PackPartInputs()(dict())
    with pytest.raises(ValueError, match="'gt_landmarks_visible' has 2 entries but"):
        PackPartInputs()(dict(_results(), gt_landmarks_visible=np.array([1, 1])))
    with pytest.raises(ValueError, match="'landmark_norm' must hold 2 values"):
        PackPartInputs()(dict(_results(), landmark_norm=np.array([3.0])))
    with pytest.raises(TypeError, match='meta_keys must be a sequence'):
        PackPartInputs(meta_keys='img_path')
