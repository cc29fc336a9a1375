"""Oxford 102 Flowers: official layout, GANSeg split, the segmim foreground rule end to end."""
import functools
import os

import numpy as np
import pytest
from scipy.io import savemat

from partseg.datasets import FlowersDataset as _FlowersDataset

FlowersDataset = functools.partial(_FlowersDataset, serialize_data=False)

SETID = {'trnid': [3, 1], 'valid': [2], 'tstid': [4, 5, 6]}
SIZE = 32  # the tests resize to 32 x 32 instead of the config's 128 (CPU time)


def segmim(image_id):
    """A segmim colour map (blue background) and its foreground by the flowers rule."""
    seg = np.zeros((SIZE, SIZE, 3), np.uint8)
    seg[...] = (0, 0, 254)  # background blue
    seg[8:24, 8:24] = (200, 60, 30)  # flower: 256 px
    seg[8:24, 8] = (255, 0, 10)  # G == 0: background (16 px)
    seg[23, 9:24] = (10, 10, 254)  # B == 254: background (15 px)
    seg[0, 0] = (1, 1, 253)  # an isolated "foreground" speck: none of the three tests holds
    if image_id == 1:
        seg[8:24, 8:24] = (0, 0, 254)
        seg[0:4, 0:8] = (90, 90, 90)
    fg = ~((seg[..., 0] == 0) | (seg[..., 1] == 0) | (seg[..., 2] == 254))
    return seg, fg


def make_flowers(root, helpers):
    for image_id in range(1, 7):
        helpers.write_image(root / 'jpg' / f'image_{image_id:05d}.jpg', (SIZE, SIZE), fmt='JPEG')
        # the official segmim files are JPEGs; PNG bytes keep the colours exact for the test
        helpers.write_array(root / 'segmim' / f'segmim_{image_id:05d}.jpg', segmim(image_id)[0])
    savemat(str(root / 'setid.mat'), {k: np.array([v], dtype=np.uint16) for k, v in SETID.items()})
    return root


@pytest.fixture
def flowers_root(tmp_path, helpers):
    return make_flowers(tmp_path / 'flowers', helpers)


def test_splits_and_entries(flowers_root):
    ganseg = {
        s: [i['image_id'] for i in FlowersDataset(str(flowers_root), split=s).data_list]
        for s in ('train', 'val', 'test')
    }
    assert ganseg == {'train': [4, 5, 6], 'val': [2], 'test': [3, 1]}  # tstid / valid / trnid
    official = FlowersDataset(str(flowers_root), protocol='official', split='train')
    assert [i['image_id'] for i in official.data_list] == [3, 1]
    info = FlowersDataset(str(flowers_root), split='test', with_masks=True).get_data_info(0)
    assert info['img_path'] == str(flowers_root / 'jpg' / 'image_00003.jpg')
    assert info['fg_mask_path'] == str(flowers_root / 'segmim' / 'segmim_00003.jpg')


def test_bad_input(flowers_root, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'jpg \(directory\) not found; expected layout'):
        FlowersDataset(str(tmp_path))
    os.remove(flowers_root / 'segmim' / 'segmim_00001.jpg')
    with pytest.raises(
            FileNotFoundError,
            match=r"segmim_00001\.jpg not found \(referred to by .*setid\.mat \('trnid'"):
        FlowersDataset(str(flowers_root), split='test', with_masks=True)
    savemat(str(flowers_root / 'setid.mat'), {'trnid': np.array([[1]])})
    with pytest.raises(KeyError, match="setid.mat has no 'tstid' array"):
        FlowersDataset(str(flowers_root), split='train')
    (flowers_root / 'setid.mat').write_bytes(b'not a mat file')
    with pytest.raises(ValueError, match=r'cannot read .*setid\.mat'):
        FlowersDataset(str(flowers_root), split='train')


def test_ganseg_protocol_end_to_end(flowers_root, helpers, partseg_scope):
    """fg = not (R == 0 or G == 0 or B == 254) on segmim; IoU computed by hand."""
    cfg = helpers.resize_to(helpers.load_base('flowers', flowers_root), SIZE)
    dataset = helpers.build_dataset(cfg.test_dataloader.dataset)
    samples = [dataset[i]['data_samples'] for i in range(len(dataset))]
    assert [s.img_path[-9:] for s in samples] == ['00003.jpg', '00001.jpg']
    for image_id, sample in zip((3, 1), samples):
        np.testing.assert_array_equal(sample.gt_fg_mask.data[0].numpy(), segmim(image_id)[1])
    # image 3: GT = 16 x 16 block - 16 (G == 0 column) - 15 (B == 254 row) + 1 speck = 226 px;
    # prediction = the full 16 x 16 block (256 px): intersection 225, union 257
    pred = np.zeros((SIZE, SIZE), bool)
    pred[8:24, 8:24] = True
    helpers.predict_foreground(samples[0], pred)
    # image 1: GT = speck + 4 x 8 grey block = 32 px (speck inside it); prediction = 4 x 4 -> 16/32
    pred = np.zeros((SIZE, SIZE), bool)
    pred[0:4, 0:4] = True
    helpers.predict_foreground(samples[1], pred)
    result = helpers.evaluate(cfg.test_evaluator, samples)
    assert segmim(3)[1].sum() == 226 and segmim(1)[1].sum() == 32
    np.testing.assert_allclose(result['parts/fg_iou'], (225 / 257 + 16 / 32) / 2, rtol=1e-6)
    assert len(helpers.build_dataset(cfg.train_dataloader.dataset)) == 3
    assert len(helpers.build_dataset(cfg.val_dataloader.dataset)) == 1
