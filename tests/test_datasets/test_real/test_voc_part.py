"""PASCAL VOC 2012 object crops: official layout, object filters, instance-mask IoU end to end."""
import functools
import os

import numpy as np
import pytest
from PIL import Image

from partseg.datasets import VOCPartDataset as _VOCPartDataset

VOCPartDataset = functools.partial(_VOCPartDataset, serialize_data=False)

# image id: (W, H), [(name, (xmin, ymin, xmax, ymax) 1-based inclusive, difficult, truncated)]
ANNOTATIONS = {
    '2008_000001': ((100, 80), [('sheep', (11, 11, 74, 74), 0, 0), ('sheep', (5, 5, 20, 20), 1, 0),
                                ('dog', (30, 30, 60, 60), 0, 0)]),
    '2008_000002': ((100, 80), [('dog', (30, 30, 60, 60), 0, 0)]),
    '2008_000003': ((100, 80), [('sheep', (2, 2, 40, 40), 1, 0)]),
    '2008_000010':
    ((100, 80), [('sheep', (11, 11, 74, 74), 0, 0), ('person', (1, 61, 10, 80), 0, 0),
                 ('sheep', (81, 5, 96, 36), 0, 1)]),
}
MAIN = {
    'sheep_train': ['2008_000001 1', '2008_000002 -1', '2008_000003 0'],
    'sheep_val': ['2008_000010 1']
}
SEGMENTATION = {'train': ['2008_000001'], 'val': ['2008_000010']}


def annotation_xml(image_id):
    (w, h), objects = ANNOTATIONS[image_id]
    parts = [
        f'<annotation><filename>{image_id}.jpg</filename>',
        f'<size><width>{w}</width><height>{h}</height><depth>3</depth></size>'
    ]
    for name, (x1, y1, x2, y2), difficult, truncated in objects:
        parts.append(
            f'<object><name>{name}</name><pose>Left</pose><truncated>{truncated}</truncated>'
            f'<difficult>{difficult}</difficult><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>'
            f'<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>')
    return ''.join(parts) + '</annotation>'


def instance_mask():
    """SegmentationObject of 2008_000010: object index per pixel, 255 = void border."""
    mask = np.zeros((80, 100), np.uint8)
    mask[20:52, 10:74] = 1
    mask[52, 10:74] = 255
    mask[60:80, 0:10] = 2
    mask[4:36, 80:96] = 3
    return mask


def write_palette_png(path, indices):
    """A VOC-style palette PNG whose pixel values are ``indices``."""
    img = Image.frombytes('P', indices.shape[::-1], indices.tobytes())
    img.putpalette([v for i in range(256) for v in (i, 255 - i, (7 * i) % 256)])
    img.save(str(path))


def make_voc(root, helpers):
    for image_id, ((w, h), _) in ANNOTATIONS.items():
        helpers.write_image(root / 'JPEGImages' / f'{image_id}.jpg', (w, h), fmt='JPEG')
        helpers.write_text(root / 'Annotations' / f'{image_id}.xml', [annotation_xml(image_id)])
    os.makedirs(root / 'SegmentationObject')
    write_palette_png(root / 'SegmentationObject' / '2008_000010.png', instance_mask())
    write_palette_png(root / 'SegmentationObject' / '2008_000001.png', np.zeros((80, 100),
                                                                                np.uint8))
    for name, lines in MAIN.items():
        helpers.write_text(root / 'ImageSets' / 'Main' / f'{name}.txt', lines)
    for name, lines in SEGMENTATION.items():
        helpers.write_text(root / 'ImageSets' / 'Segmentation' / f'{name}.txt', lines)
    return root


@pytest.fixture
def voc_root(tmp_path, helpers):
    return make_voc(tmp_path / 'VOC2012', helpers)


def test_objects_and_filters(voc_root):
    train = VOCPartDataset(str(voc_root), category='sheep')
    assert [(i['image_id'], i['object_index']) for i in train.data_list] == [('2008_000001', 1)]
    info = train.get_data_info(0)
    np.testing.assert_array_equal(info['bbox'], [10, 10, 74, 74])  # 1-based inclusive -> corners
    assert info['img_path'] == str(voc_root / 'JPEGImages' / '2008_000001.jpg')
    assert 'fg_mask_path' not in info and train.metainfo['category'] == 'sheep'
    with_difficult = VOCPartDataset(str(voc_root), category='sheep', skip_difficult=False)
    assert [(i['image_id'], i['object_index'])
            for i in with_difficult.data_list] == [('2008_000001', 1), ('2008_000001', 2),
                                                   ('2008_000003', 1)]
    val = VOCPartDataset(str(voc_root), category='sheep', image_set='val', with_masks=True)
    assert [(i['fg_label'], i['object_index']) for i in val.data_list] == [(1, 1), (3, 3)]
    assert val.get_data_info(1)['fg_mask_path'] == str(voc_root / 'SegmentationObject' /
                                                       '2008_000010.png')
    assert len(
        VOCPartDataset(
            str(voc_root), category='sheep', image_set='val', with_masks=True,
            skip_truncated=True)) == 1
    assert len(
        VOCPartDataset(
            str(voc_root), category='sheep', image_set='val', with_masks=True,
            min_size=20)) == 1  # object 3 is 16 px wide
    assert len(VOCPartDataset(str(voc_root), category='person', image_set='val',
                              with_masks=True)) == 1


def test_bad_input(voc_root, tmp_path):
    with pytest.raises(ValueError, match='category must be one of'):
        VOCPartDataset(str(voc_root), category='zebra')
    with pytest.raises(FileNotFoundError, match=r'JPEGImages \(directory\) not found; expected'):
        VOCPartDataset(str(tmp_path), category='sheep')
    os.remove(voc_root / 'SegmentationObject' / '2008_000010.png')
    with pytest.raises(
            FileNotFoundError,
            match=r'2008_000010\.png not found \(referred to by '
            r'.*Segmentation/val\.txt'):
        VOCPartDataset(str(voc_root), category='sheep', image_set='val', with_masks=True)
    os.remove(voc_root / 'JPEGImages' / '2008_000001.jpg')
    with pytest.raises(
            FileNotFoundError,
            match=r'2008_000001\.jpg not found \(referred to by '
            r'.*Main/sheep_train\.txt'):
        VOCPartDataset(str(voc_root), category='sheep')
    lines = ['2008_000001 1', '2008_000003 yes']
    (voc_root / 'ImageSets' / 'Main' / 'sheep_train.txt').write_text('\n'.join(lines))
    with pytest.raises(ValueError, match=r'sheep_train\.txt:2: expected'):
        VOCPartDataset(str(voc_root), category='sheep', check_files=False)
    (voc_root / 'Annotations' / '2008_000010.xml').write_text('<annotation><object>')
    with pytest.raises(ValueError, match=r'cannot parse .*2008_000010\.xml'):
        VOCPartDataset(str(voc_root), category='sheep', image_set='val')


def test_protocol_end_to_end(voc_root, helpers, partseg_scope):
    """Crop to the box, 128 px, IoU of the predicted part union with the instance mask."""
    cfg = helpers.load_base('voc_part', voc_root)
    dataset = helpers.build_dataset(cfg.test_dataloader.dataset)
    samples = [dataset[i]['data_samples'] for i in range(len(dataset))]
    assert len(samples) == 2 and all(tuple(s.img_shape) == (128, 128) for s in samples)
    # object 1: crop rows / cols 10..73 (64 px, x2 -> 128); its mask rows 20..51 -> crop rows
    # 10..41 -> 20..83 at 128 px, every column: 64 x 128 = 8192 px (the void row is background)
    expected = np.zeros((128, 128), bool)
    expected[20:84] = True
    np.testing.assert_array_equal(samples[0].gt_fg_mask.data[0].numpy(), expected)
    pred = np.zeros((128, 128), bool)
    pred[:64] = True  # 8192 px, intersection rows 20..63 = 5632
    helpers.predict_foreground(samples[0], pred)
    # object 3 fills its box: GT all foreground; predicting all foreground gives IoU 1
    assert samples[1].gt_fg_mask.data.all()
    helpers.predict_foreground(samples[1], np.ones((128, 128), bool))
    result = helpers.evaluate(cfg.test_evaluator, samples)
    np.testing.assert_allclose(result['parts/fg_iou'], (5632 / 10752 + 1) / 2, rtol=1e-6)
    train = helpers.build_dataset(cfg.train_dataloader.dataset)
    assert len(train) == 1 and train[0]['inputs'].shape == (3, 128, 128)
