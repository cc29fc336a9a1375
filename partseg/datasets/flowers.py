"""Oxford 102 Flowers with the segmentations of Nilsback & Zisserman, GANSeg's split."""
import os.path as osp
from typing import List

import numpy as np
from scipy.io import loadmat
from scipy.io.matlab import MatReadError

from partseg.registry import DATASETS
from .base_part_dataset import BasePartDataset
from .utils import check_choice, check_files_exist, require_dir, require_file

LAYOUT = ('DATA_ROOT/{jpg/image_00001.jpg ... (102flowers.tgz), segmim/segmim_00001.jpg ... '
          '(102segmentations.tgz), setid.mat}')
PROTOCOLS = ('official', 'ganseg')
SPLITS = ('train', 'val', 'test')
# setid.mat key of each split. GANSeg (He et al. 2022 Sec. 4.1, following Chen et al. 2019)
# trains on the large official test set and tests on the official training set.
SETID_KEYS = {
    'official': {
        'train': 'trnid',
        'val': 'valid',
        'test': 'tstid'
    },
    'ganseg': {
        'train': 'tstid',
        'val': 'valid',
        'test': 'trnid'
    },
}


def read_setid(path: str, key: str) -> List[int]:
    """1-based image ids stored under ``key`` in ``setid.mat``; one-line errors name the file."""
    try:
        mat = loadmat(path)
    except (MatReadError, ValueError, OSError, TypeError, IndexError, EOFError) as err:
        raise ValueError(f'cannot read {path}: {err or type(err).__name__}') from None
    if key not in mat:
        raise KeyError(f"{path} has no '{key}' array (expected trnid, valid, tstid)")
    ids = np.asarray(mat[key]).ravel()
    if ids.size == 0 or not np.all(np.equal(np.mod(ids, 1), 0)) or ids.min() < 1:
        raise ValueError(f"{path}: '{key}' must hold positive integer image ids")
    return [int(i) for i in ids]


@DATASETS.register_module()
class FlowersDataset(BasePartDataset):
    """Oxford 102 Flowers (Nilsback & Zisserman 2008) with its automatic segmentations.

    ``protocol='ganseg'`` (He et al. 2022 Sec. 4.1, the split of Chen et al. 2019): ``split``
    'train' = ``setid.mat`` ``tstid`` (6,149 images), 'val' = ``valid`` (1,020), 'test' =
    ``trnid`` (1,020); ``protocol='official'`` keeps the names of ``setid.mat``. Foreground IoU
    is scored against ``segmim/segmim_XXXXX.jpg`` with fg = not (R == 0 or G == 0 or B == 254)
    (``LoadFgMask(rule='flowers')``). Entries hold ``img_path``, ``image_id`` and, with
    ``with_masks``, ``fg_mask_path``.

    Args:
        data_root: the directory holding ``jpg/``, ``segmim/`` and ``setid.mat``.
        protocol: ``'ganseg'`` or ``'official'``.
        split: ``'train'``, ``'val'`` or ``'test'``.
        with_masks: add ``fg_mask_path``.
        check_files: check every listed image (and mask) exists at initialisation.
        **kwargs: ``pipeline``, ``test_mode``, ``lazy_init``, ``indices``, ``serialize_data``,
            ``max_refetch``; they and ``check_files`` go to :class:`BasePartDataset`.
    """

    METAINFO = dict(dataset_name='Oxford 102 Flowers')

    def __init__(self,
                 data_root: str,
                 protocol: str = 'ganseg',
                 split: str = 'train',
                 with_masks: bool = False,
                 **kwargs) -> None:
        self.protocol = check_choice(protocol, PROTOCOLS, 'protocol')
        self.split = check_choice(split, SPLITS, 'split')
        self.with_masks = with_masks
        super().__init__(data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        img_dir = require_dir(osp.join(root, 'jpg'), LAYOUT)
        seg_dir = require_dir(osp.join(root, 'segmim'), LAYOUT) if self.with_masks else None
        setid = require_file(osp.join(root, 'setid.mat'), LAYOUT)
        key = SETID_KEYS[self.protocol][self.split]
        ids = read_setid(setid, key)
        img_paths = [osp.join(img_dir, f'image_{i:05d}.jpg') for i in ids]
        mask_paths = ([osp.join(seg_dir, f'segmim_{i:05d}.jpg')
                       for i in ids] if seg_dir is not None else [])
        if self.check_files:
            check_files_exist(img_paths, f"{setid} ('{key}')")
            check_files_exist(mask_paths, f"{setid} ('{key}')")
        data_list = []
        for row, image_id in enumerate(ids):
            info = dict(img_path=img_paths[row], image_id=image_id)
            if mask_paths:
                info['fg_mask_path'] = mask_paths[row]
            data_list.append(info)
        return data_list
