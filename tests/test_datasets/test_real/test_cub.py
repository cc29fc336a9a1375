"""CUB-200-2011: official layout, DisPart CUB-1/2/3 and GANSeg split, protocols end to end."""
import functools
import os

import numpy as np
import pytest
from mmengine.config import Config

from partseg.datasets import CUBDataset as _CUBDataset

CUBDataset = functools.partial(_CUBDataset, serialize_data=False)  # no gc.collect() per build

CLASSES = {1: '001.Black_footed_Albatross', 2: '002.Laysan_Albatross', 3: '003.Sooty_Albatross'}
N_CUB1_TRAIN = 34  # >= 2K = 30 regression inputs
# image_id: (class, official is_train, GANSeg code, image (W, H), box (x, y, w, h))
IMAGES = {i: (1, 1, 0, (40, 40), (4, 4, 32, 32)) for i in range(1, N_CUB1_TRAIN + 1)}
IMAGES.update({
    35: (1, 0, 1, (40, 40), (2, 6, 36, 30)),  # CUB-1 test, anisotropic crop to 128 x 128
    36: (1, 0, 1, (40, 40), (4, 4, 32, 32)),  # CUB-1 test, one invisible part
    37: (2, 1, 0, (40, 40), (4, 4, 32, 32)),
    38: (2, 0, 1, (40, 40), (4, 4, 32, 32)),
    39: (3, 1, 2, (128, 128), (10, 10, 100, 100)),  # GANSeg test images, with masks
    40: (3, 1, 2, (128, 128), (10, 10, 100, 100)),
})
INVISIBLE = {36: 4}  # image 36: part 5 (crown) not visible

SIZE = 32  # the tests resize to 32 x 32 instead of the configs' 128 (CPU time)


def parts_of(image_id):
    """(15, 2) part positions: pixel centres of the 32 x 32 crop, mapped back to the image."""
    _, _, _, _, (x, y, w, h) = IMAGES[image_id]
    rng = np.random.default_rng(image_id)
    cells = rng.choice(SIZE, size=(15, 2), replace=False) + 0.5  # distinct (x, y) at 32 px
    return cells * np.array([w, h]) / SIZE + np.array([x, y])


def image_name(image_id):
    return f'{CLASSES[IMAGES[image_id][0]]}/bird_{image_id:04d}.jpg'


def gt_mask(image_id):
    """Soft CUB-style mask (0..255) of a GANSeg test image and its foreground (> 127.5)."""
    mask = np.zeros((128, 128), np.uint8)
    mask[32:96, 32:96] = 200
    mask[32:96, 31] = 128  # just above the threshold: foreground
    mask[32:96, 96] = 127  # just below: background
    if image_id == 40:
        mask[:, :] = 0
        mask[10:20, 10:30] = 255
    return mask, mask > 127.5


def make_cub(root, helpers):
    rows = {k: [] for k in ('images', 'labels', 'split', 'ganseg', 'boxes', 'parts')}
    for image_id, (cls, is_train, code, size, box) in IMAGES.items():
        name = image_name(image_id)
        helpers.write_image(root / 'images' / name, size, fmt='JPEG')
        mask = gt_mask(image_id)[0] if cls == 3 else np.zeros(size[::-1], np.uint8)
        helpers.write_array(root / 'segmentations' / name.replace('.jpg', '.png'), mask)
        rows['images'].append(f'{image_id} {name}')
        rows['labels'].append(f'{image_id} {cls}')
        rows['split'].append(f'{image_id} {is_train}')
        rows['ganseg'].append(f'{image_id} {code}')
        rows['boxes'].append(f'{image_id} ' + ' '.join(f'{float(v)}' for v in box))
        for part, (x, y) in enumerate(parts_of(image_id), start=1):
            visible = 0 if INVISIBLE.get(image_id) == part - 1 else 1
            x, y = (float(x), float(y)) if visible else (0.0, 0.0)
            rows['parts'].append(f'{image_id} {part} {x!r} {y!r} {visible}')
    helpers.write_text(root / 'images.txt', rows['images'])
    helpers.write_text(root / 'image_class_labels.txt', rows['labels'])
    helpers.write_text(root / 'train_test_split.txt', rows['split'])
    helpers.write_text(root / 'train_val_test_split.txt', rows['ganseg'])
    helpers.write_text(root / 'bounding_boxes.txt', rows['boxes'])
    helpers.write_text(root / 'parts' / 'part_locs.txt', rows['parts'])
    return root


@pytest.fixture
def cub_root(tmp_path, helpers):
    return make_cub(tmp_path / 'CUB_200_2011', helpers)


def test_split_counts(cub_root):
    counts = {
        (split, cats): len(CUBDataset(str(cub_root), split=split, categories=cats))
        for split in ('train', 'test', 'all')
        for cats in ((1, ), (2, ), (3, ), None)
    }
    assert counts == {
        ('train', (1, )): 34,
        ('train', (2, )): 1,
        ('train', (3, )): 2,
        ('train', None): 37,
        ('test', (1, )): 2,
        ('test', (2, )): 1,
        ('test', (3, )): 0,
        ('test', None): 3,
        ('all', (1, )): 36,
        ('all', (2, )): 2,
        ('all', (3, )): 2,
        ('all', None): 40
    }
    ganseg = {
        s: len(CUBDataset(str(cub_root), protocol='ganseg', split=s))
        for s in ('train', 'val', 'test')
    }
    assert ganseg == {'train': 35, 'val': 3, 'test': 2}


def test_entries(cub_root):
    ds = CUBDataset(str(cub_root), split='test', categories=(1, ), regression_split='test')
    info = ds.get_data_info(1)
    assert info['img_path'] == str(cub_root / 'images' / image_name(36))
    assert info['category'] == 1 and info['image_id'] == 36 and info['regression_split'] == 'test'
    np.testing.assert_array_equal(info['bbox'], [4, 4, 36, 36])
    np.testing.assert_array_equal(info['landmark_norm'], [32, 32])
    visible = np.ones(15, bool)
    visible[4] = False
    np.testing.assert_array_equal(info['gt_landmarks_visible'], visible)
    np.testing.assert_allclose(info['gt_landmarks'][visible], parts_of(36)[visible], rtol=1e-6)
    assert info['gt_landmarks'].shape == (15, 2) and info['gt_landmarks'].dtype == np.float32
    assert 'fg_mask_path' not in info
    masked = CUBDataset(str(cub_root), protocol='ganseg', split='test', with_masks=True)
    assert masked.get_data_info(0)['fg_mask_path'] == str(cub_root / 'segmentations' /
                                                          image_name(39).replace('.jpg', '.png'))
    assert masked.metainfo['landmark_flip_indices'][6] == 10  # left eye <-> right eye
    tagged = CUBDataset(str(cub_root), split='all', categories=(2, ), regression_split='official')
    assert [(i['image_id'], i['regression_split']) for i in tagged.data_list] == [(37, 'train'),
                                                                                  (38, 'test')]
    with pytest.raises(ValueError, match='regression_split must be one of'):
        CUBDataset(str(cub_root), regression_split='fit')


def test_cub2_config_override(cub_root, tmp_path, helpers, partseg_scope):
    """The override documented in cub_dispart.py selects class 2 in every loader."""
    base = helpers.load_base('cub_dispart', cub_root)
    base.dump(str(tmp_path / 'cub_base.py'))
    helpers.write_text(tmp_path / 'cub2.py', [
        "_base_ = ['./cub_base.py']", 'train_dataloader = dict(dataset=dict(categories=(2, )))',
        'test_dataloader = dict(dataset=dict(categories=(2, )))', 'val_dataloader = test_dataloader'
    ])
    cfg = Config.fromfile(str(tmp_path / 'cub2.py'))
    for loader in ('train_dataloader', 'test_dataloader', 'val_dataloader'):
        dataset = helpers.build_dataset(cfg[loader].dataset)
        assert {info['category'] for info in dataset.data_list} == {2}, loader
    assert len(helpers.build_dataset(cfg.test_dataloader.dataset)) == 2


def test_bad_input(cub_root, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'images\.txt not found; expected layout'):
        os.makedirs(tmp_path / 'wrong' / 'images')
        CUBDataset(str(tmp_path / 'wrong'))
    with pytest.raises(ValueError, match='categories must be class ids'):
        CUBDataset(str(cub_root), categories=(0, ))
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'val', 'test'\)"):
        CUBDataset(str(cub_root), protocol='ganseg', split='all')
    os.remove(cub_root / 'segmentations' / image_name(40).replace('.jpg', '.png'))
    with pytest.raises(
            FileNotFoundError, match=r'bird_0040\.png not found \(referred to by '
            r'.*images\.txt'):
        CUBDataset(str(cub_root), protocol='ganseg', split='test', with_masks=True)
    os.remove(cub_root / 'images' / image_name(2))
    with pytest.raises(FileNotFoundError, match=r'bird_0002\.jpg not found \(referred to by'):
        CUBDataset(str(cub_root), categories=(1, ))
    parts = cub_root / 'parts' / 'part_locs.txt'
    lines = parts.read_text().splitlines()
    lines[16] = '2 2 1.0 2.0'  # a row without its visibility flag
    parts.write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=r'part_locs\.txt:17: expected'):
        CUBDataset(str(cub_root), categories=(2, ), check_files=False)
    os.remove(cub_root / 'train_val_test_split.txt')
    with pytest.raises(FileNotFoundError, match=r'train_val_test_split\.txt not found'):
        CUBDataset(str(cub_root), protocol='ganseg')


@pytest.mark.parametrize('field', [1, 2, 3, 4], ids=['x', 'y', 'width', 'height'])
def test_non_finite_box_names_the_file_and_image(cub_root, field):
    boxes = cub_root / 'bounding_boxes.txt'
    lines = boxes.read_text().splitlines()
    image_id = lines[0].split()[0]
    fields = lines[0].split()
    fields[field] = 'nan'
    lines[0] = ' '.join(fields)
    boxes.write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError) as error:
        CUBDataset(str(cub_root), check_files=False)
    assert str(error.value).startswith(f'{boxes}: image {image_id} has a non-finite box (')


def test_cub1_protocol_end_to_end(cub_root, helpers, partseg_scope):
    """DisPart CUB-1: crop to box, resize, bbox-normalised error of 15 parts, hand-computed."""
    cfg = helpers.resize_to(helpers.load_base('cub_dispart', cub_root), SIZE)
    dataset = helpers.build_dataset(cfg.test_dataloader.dataset)
    assert len(dataset) == 34 + 2
    samples = [dataset[i]['data_samples'] for i in range(len(dataset))]
    assert [s.regression_split for s in samples] == ['train'] * 34 + ['test'] * 2
    for sample in samples:
        assert tuple(sample.img_shape) == (SIZE, SIZE)
        # after the crop + resize the box is the whole input: per-axis norm (SIZE, SIZE)
        np.testing.assert_allclose(sample.landmark_norm.numpy(), [SIZE, SIZE], rtol=1e-6)
        points = sample.gt_landmarks.numpy()
        vis = sample.gt_landmarks_visible.numpy()
        np.testing.assert_allclose(points[vis] % 1, 0.5, atol=1e-4)
        helpers.predict_parts(sample, np.where(vis[:, None], points, 0.5))
    # test image 35 (anisotropic crop): the beak part 1 px right -> 1/32 on 1 of 15 landmarks;
    # test image 36: exact (its invisible crown is not scored)
    test35 = samples[34]
    assert test35.img_path.endswith('bird_0035.jpg')
    shifted = test35.gt_landmarks.numpy().copy()
    shifted[1, 0] += 1
    helpers.predict_parts(test35, shifted)
    expected = ((1 / SIZE) / 15 + 0) / 2 * 100
    result = helpers.evaluate(cfg.test_evaluator, samples)
    # float32 landmarks: the identity fit is exact to ~1e-5 px
    np.testing.assert_allclose(result['parts/landmark_error'], expected, atol=1e-4)


def test_ganseg_foreground_protocol_end_to_end(cub_root, helpers, partseg_scope):
    """GANSeg CUB: mask > 127.5 after the (here identity) 128 px resize; IoU by hand."""
    cfg = helpers.load_base('cub_ganseg', cub_root)
    dataset = helpers.build_dataset(cfg.test_dataloader.dataset)
    assert len(dataset) == 2
    samples = [dataset[i]['data_samples'] for i in range(2)]
    for image_id, sample in zip((39, 40), samples):
        np.testing.assert_array_equal(sample.gt_fg_mask.data[0].numpy(), gt_mask(image_id)[1])
    # image 39: GT = 64 x 64 block + a 64-pixel column = 4160 px; prediction = the block moved 16
    # px right (4096 px); intersection 64 x 48 = 3072 -> IoU 3072 / (4160 + 4096 - 3072)
    pred = np.zeros((128, 128), bool)
    pred[32:96, 48:112] = True
    helpers.predict_foreground(samples[0], pred)
    helpers.predict_foreground(samples[1], gt_mask(40)[1])  # exact: IoU 1
    result = helpers.evaluate(cfg.test_evaluator, samples)
    np.testing.assert_allclose(result['parts/fg_iou'], (3072 / 5184 + 1) / 2, rtol=1e-6)
    val = helpers.build_dataset(cfg.val_dataloader.dataset)
    train = helpers.build_dataset(cfg.train_dataloader.dataset)
    assert len(val) == 3 and len(train) == 35
    assert train[0]['inputs'].shape == (3, 128, 128)
