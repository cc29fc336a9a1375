"""BasePartSegmentor: K validation, forward modes, logits -> PartDataSample (seg_logits, pred)."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor

from partseg.models.part_segmentors import BasePartSegmentor, check_num_parts
from partseg.structures import PartDataSample


class HalfSplitSegmentor(BasePartSegmentor):
    """K = 2: background logit 0, part 1 on the left half of the logit map, part 2 on the right."""

    def __init__(self, stride: int = 2) -> None:
        super().__init__(2, data_preprocessor=ImgDataPreprocessor(pad_size_divisor=8))
        self.stride = stride

    def part_logits(self, inputs):
        b, _, h, w = inputs.shape
        h, w = h // self.stride, w // self.stride
        left = (torch.arange(w) < w // 2).float().expand(b, h, w)  # (B, h, w)
        return torch.stack((torch.zeros_like(left), 2 * left - 1, 1 - 2 * left), 1)

    def loss(self, inputs, data_samples=None):
        return dict(loss_sum=inputs.sum())


@pytest.mark.parametrize('value', [0, -1, True, 2.0, '4', None])
def test_check_num_parts_rejects(value):
    with pytest.raises(ValueError, match='num_parts') as info:
        check_num_parts(value)
    assert '\n' not in str(info.value)
    with pytest.raises(ValueError, match='model.num_parts'):
        check_num_parts(value, 'model.num_parts')


def test_check_num_parts_accepts():
    assert check_num_parts(1) == 1 and check_num_parts(8) == 8


def test_constructor_validates_k():

    class Bad(HalfSplitSegmentor):

        def __init__(self):
            BasePartSegmentor.__init__(self, 0)

    with pytest.raises(ValueError, match='num_parts'):
        Bad()


def test_forward_modes():
    model = HalfSplitSegmentor()
    inputs = torch.zeros(2, 3, 8, 8)
    assert model(inputs).shape == (2, 3, 4, 4)  # default 'tensor'
    assert model(inputs, mode='tensor').shape == (2, 3, 4, 4)
    assert set(model(inputs, mode='loss')) == {'loss_sum'}
    assert len(model(inputs, mode='predict')) == 2
    with pytest.raises(ValueError, match='mode'):
        model(inputs, mode='logits')


def test_predict_without_samples_gives_image_size():
    samples = HalfSplitSegmentor()(torch.zeros(2, 3, 8, 12), mode='predict')
    assert len(samples) == 2
    for sample in samples:
        assert isinstance(sample, PartDataSample)
        assert sample.metainfo['img_shape'] == (8, 12)
        assert sample.seg_logits.data.shape == (3, 8, 12)
        # left half -> part 1, right half -> part 2
        expected = torch.tensor([1] * 6 + [2] * 6).expand(1, 8, 12)
        assert torch.equal(sample.pred_sem_seg.data, expected)


def test_upsampled_logits_are_bilinear_and_argmax_matches():
    model = HalfSplitSegmentor()
    inputs = torch.zeros(1, 3, 8, 8)
    sample = model(inputs, [PartDataSample(metainfo=dict(img_shape=(8, 8)))], mode='predict')[0]
    expected = F.interpolate(
        model.part_logits(inputs), size=(8, 8), mode='bilinear', align_corners=False)[0]
    torch.testing.assert_close(sample.seg_logits.data, expected)
    # column 3 lies left of the 4x4 map's centre line: 0.75 * 1 + 0.25 * (-1) = 0.5 for part 1
    torch.testing.assert_close(sample.seg_logits.data[:, 0, 3], torch.tensor([0.0, 0.5, -0.5]))
    assert torch.equal(sample.pred_sem_seg.data, sample.seg_logits.data.argmax(0, keepdim=True))


def test_padding_is_cropped_to_img_shape():
    # two images of different sizes, padded bottom/right to 16 x 16 by the data preprocessor
    model = HalfSplitSegmentor(stride=1)
    data = dict(
        inputs=[
            torch.zeros(3, 16, 16, dtype=torch.uint8),
            torch.zeros(3, 8, 12, dtype=torch.uint8)
        ],
        data_samples=[
            PartDataSample(metainfo=dict(img_shape=(16, 16))),
            PartDataSample(metainfo=dict(img_shape=(8, 12)))
        ])
    samples = model.val_step(data)
    assert samples[0].seg_logits.shape == (16, 16)
    assert samples[1].seg_logits.shape == (8, 12)
    # the second image is the top-left crop of the padded batch, not a resize of it
    expected = torch.tensor([1] * 8 + [2] * 4).expand(1, 8, 12)
    assert torch.equal(samples[1].pred_sem_seg.data, expected)


def test_postprocess_errors():
    model = HalfSplitSegmentor()
    logits = torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError, match='data_samples'):
        model.postprocess(logits, [PartDataSample()], (8, 8))
    with pytest.raises(ValueError, match='img_shape'):
        model.postprocess(logits, [PartDataSample(metainfo=dict(img_shape=(9, 8)))] * 2, (8, 8))
