"""DeepFashion In-shop: official partition file, full-body view selection, base config."""
import functools
import os
import os.path as osp

import pytest

from partseg.datasets import DeepFashionDataset as _DeepFashionDataset
from partseg.datasets.deepfashion import view_of

DeepFashionDataset = functools.partial(_DeepFashionDataset, serialize_data=False)

ROWS = [
    'img/WOMEN/Dresses/id_00000002/02_1_front.jpg id_00000002 train',
    'img/WOMEN/Dresses/id_00000002/02_4_full.jpg id_00000002 train',
    'img/WOMEN/Dresses/id_00000002/02_7_additional.jpg id_00000002 train',
    'img/MEN/Denim/id_00000080/01_4_full.jpg id_00000080 train',
    'img/MEN/Denim/id_00000080/01_2_side.jpg id_00000080 query',
    'img/MEN/Tees/id_00000100/03_4_full.jpg id_00000100 query',
    'img/MEN/Tees/id_00000100/04_4_full.jpg id_00000100 gallery',
]


def make_inshop(root, helpers):
    for row in ROWS:
        helpers.write_image(root / 'Img' / row.split()[0], (24, 48), fmt='JPEG')
    helpers.write_text(root / 'Eval' / 'list_eval_partition.txt',
                       [str(len(ROWS)), 'image_name item_id evaluation_status'] + ROWS)
    return root


@pytest.fixture
def inshop_root(tmp_path, helpers):
    return make_inshop(tmp_path / 'inshop', helpers)


def test_views_and_splits(inshop_root):
    assert view_of('img/MEN/Denim/id_00000080/01_4_full.jpg') == 'full'
    assert view_of('02_7_additional.jpg') == 'additional' and view_of('odd.jpg') == ''
    full = {
        s: [
            osp.basename(i['img_path'])
            for i in DeepFashionDataset(str(inshop_root), split=s).data_list
        ]
        for s in ('train', 'query', 'gallery', 'test', 'all')
    }
    assert full == {
        'train': ['02_4_full.jpg', '01_4_full.jpg'],
        'query': ['03_4_full.jpg'],
        'gallery': ['04_4_full.jpg'],
        'test': ['03_4_full.jpg', '04_4_full.jpg'],
        'all': ['02_4_full.jpg', '01_4_full.jpg', '03_4_full.jpg', '04_4_full.jpg']
    }
    everything = DeepFashionDataset(str(inshop_root), split='all', views=None)
    assert len(everything) == 7
    info = everything.get_data_info(4)
    assert info['img_path'] == str(inshop_root / 'Img' / ROWS[4].split()[0])
    assert info['item_id'] == 'id_00000080'
    assert len(DeepFashionDataset(str(inshop_root), views=('front', 'side'), split='all')) == 2


def test_bad_input(inshop_root, tmp_path):
    with pytest.raises(
            FileNotFoundError, match=r'Eval/list_eval_partition\.txt not found; expected layout'):
        DeepFashionDataset(str(tmp_path))
    with pytest.raises(TypeError, match='views must be a sequence'):
        DeepFashionDataset(str(inshop_root), views='full')
    with pytest.raises(ValueError, match=r"lists no 'train' image with a view in \('back',\)"):
        DeepFashionDataset(str(inshop_root), views=('back', ))
    os.remove(inshop_root / 'Img' / ROWS[3].split()[0])
    with pytest.raises(
            FileNotFoundError,
            match=r'01_4_full\.jpg not found \(referred to by .*list_eval_partition'):
        DeepFashionDataset(str(inshop_root))
    partition = inshop_root / 'Eval' / 'list_eval_partition.txt'
    lines = partition.read_text().splitlines()
    lines[4] = 'img/x.jpg id_1 validation'
    partition.write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=r'list_eval_partition\.txt:5: expected'):
        DeepFashionDataset(str(inshop_root), check_files=False)


def test_base_config(inshop_root, helpers, partseg_scope):
    cfg = helpers.load_base('deepfashion', inshop_root)
    train = helpers.build_dataset(cfg.train_dataloader.dataset)
    test = helpers.build_dataset(cfg.test_dataloader.dataset)
    assert len(train) == 2 and len(test) == 2
    packed = train[0]
    assert packed['inputs'].shape == (3, 128, 128)
    assert tuple(packed['data_samples'].ori_shape) == (48, 24)
