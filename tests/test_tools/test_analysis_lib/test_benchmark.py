"""tools/analysis_tools/_lib/benchmark.py: timing statistics, image size from a config, synthetic
batches."""
import pytest
import torch
from _lib.benchmark import (apply_memory_format, compile_submodules, infer_image_size,
                            num_label_classes, synthetic_batch, timing_stats)
from mmengine.config import Config
from torch import nn


def test_timing_stats_by_hand():
    stats = timing_stats([3.0, 1.0, 2.0, 10.0])
    # median of 1, 2, 3, 10 = 2.5; mean 4; p90 nearest rank ceil(0.9 * 4) = 4th -> 10
    assert stats == dict(median=2.5, mean=4.0, p90=10.0, min=1.0, max=10.0)
    ten = timing_stats([float(i) for i in range(1, 11)])
    assert ten['p90'] == 9.0 and ten['median'] == 5.5  # ceil(0.9 * 10) = 9th value
    with pytest.raises(ValueError, match='at least one'):
        timing_stats([])


def _loader(pipeline=None, **dataset):
    return dict(batch_size=2, dataset=dict(type='D', pipeline=pipeline or [], **dataset))


def test_infer_image_size_order():
    resize = [dict(type='LoadPartImage'), dict(type='ResizeParts', scale=(48, 32))]
    # a resize scale (W, H) of the train pipeline first: (H, W)
    cfg = Config(dict(train_dataloader=_loader(resize, image_size=64)))
    assert infer_image_size(cfg, 'c.py') == (32, 48)
    # else the train dataset's image_size, also inside a ConcatDataset
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='ConcatDataset', datasets=[dict(type='D', image_size=24, pipeline=[])]))))
    assert infer_image_size(cfg, 'c.py') == (24, 24)
    # else the test loader (a GAN's stage-2 pairs), or the order asked for
    cfg = Config(dict(train_dataloader=_loader(), test_dataloader=_loader(resize)))
    assert infer_image_size(cfg, 'c.py') == (32, 48)
    cfg = Config(dict(train_dataloader=_loader(image_size=16), test_dataloader=_loader(resize)))
    assert infer_image_size(cfg, 'c.py', ('test_dataloader', 'train_dataloader')) == (32, 48)
    with pytest.raises(ValueError, match='c.py: cannot tell the image size .*--image-size'):
        infer_image_size(Config(dict(train_dataloader=_loader())), 'c.py')


def test_synthetic_batch_is_a_dataloader_batch():
    batch = synthetic_batch(3, (4, 5), num_classes=2, seed=1)
    assert len(batch['inputs']) == 3 and len(batch['data_samples']) == 3
    image, sample = batch['inputs'][0], batch['data_samples'][0]
    assert image.shape == (3, 4, 5) and image.dtype == torch.uint8
    assert sample.img_shape == (4, 5) and sample.ori_shape == (4, 5)
    labels = torch.stack([s.gt_sem_seg.data for s in batch['data_samples']])
    assert labels.shape == (3, 1, 4, 5) and set(labels.unique().tolist()) <= {0, 1}
    again = synthetic_batch(3, (4, 5), num_classes=2, seed=1)
    assert torch.equal(again['inputs'][2], batch['inputs'][2])  # seeded
    with pytest.raises(ValueError, match='batch size'):
        synthetic_batch(0, (4, 4), 2)


def test_num_label_classes_segmenter_or_parts():
    seg = Config(dict(model=dict(type='EncoderDecoder', decode_head=dict(num_classes=9))))
    assert num_label_classes(seg, nn.Identity()) == 9
    parts = Config(dict(model=dict(type='DisPart')))
    model = nn.Identity()
    model.num_parts = 4
    assert num_label_classes(parts, model) == 5


def test_apply_memory_format_and_compile_errors():
    model = nn.Sequential(nn.Conv2d(4, 4, 3), nn.Linear(4, 2), nn.Conv2d(3, 4, 1, stride=2))
    apply_memory_format(model, 'channels_last')
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert not model[0].weight.is_contiguous()
    assert model[2].weight.is_contiguous()  # RGB-input convolutions stay contiguous
    apply_memory_format(model, 'contiguous')
    assert model[0].weight.is_contiguous()
    with pytest.raises(ValueError, match='memory format'):
        apply_memory_format(model, 'nhwc')
    with pytest.raises(KeyError, match="--compile head: the model has no sub-module 'head'"):
        compile_submodules(model, ['head'])
