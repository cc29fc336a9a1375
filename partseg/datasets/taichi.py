"""Tai-Chi-HD evaluation images of Siarohin et al. 2021 with 18 keypoints and foreground masks."""
import os.path as osp
from typing import List, Optional

import numpy as np

from partseg.registry import DATASETS
from .base_part_dataset import BasePartDataset
from .utils import check_choice, check_files_exist, check_regression_split, parse_table, require_dir

LAYOUT = ('DATA_ROOT/{eval_images/taichi-256/{train,test}/<file_name> (eval_images.tar.gz), '
          'landmark/taichi_{train,test}_gt.csv (written from the motion-cosegmentation '
          'landmarks/taichi_{train,test}_gt.pkl), taichi-test-masks/<file_name>, '
          'train/<video>/<frame>.png (unsupervised training frames)}')
SPLITS = ('train', 'test')
NUM_KEYPOINTS = 18
MISSING = -1.0
PREP_COMMAND = 'python tools/dataset_converters/taichi.py'


def keypoint_table_path(data_root: str, split: str) -> str:
    """Where ``tools/dataset_converters/taichi.py`` writes the keypoints of one split."""
    return osp.join(data_root, 'landmark', f'taichi_{split}_gt.csv')


@DATASETS.register_module()
class TaichiDataset(BasePartDataset):
    """Tai-Chi-HD keypoint / mask evaluation set (Siarohin et al. 2021; He et al. 2022 Sec. 4.1).

    ``split='train'`` is the 5,000 images that fit the keypoint regression
    (``eval_images/taichi-256/train``), ``'test'`` the 300 scored images
    (``eval_images/taichi-256/test``) with their foreground masks (``taichi-test-masks/``). The
    unsupervised training frames (``train/<video>/``) carry no labels: read them with
    ``ImageFolderDataset``. Keypoints are the 18 (x, y) pixel positions of the official
    ``taichi_<split>_gt.pkl`` in the 256 x 256 images, -1 marking a missing one; run
    ``tools/dataset_converters/taichi.py DATA_ROOT`` once to write them as text
    (``landmark/taichi_<split>_gt.csv``). A keypoint with a -1 coordinate is invisible.

    Protocol (He et al. 2022 Table 3, the official evaluation of Siarohin et al.): per coordinate
    a linear regression with bias from the part centres, fitted on the train split where the
    keypoint exists, MAE on the test split, summed over the 36 coordinates
    (``LandmarkRegressionMetric(fit='bias', mode='mae_sum')``); plus foreground IoU.

    Entries hold ``img_path``, ``gt_landmarks`` (18, 2), ``gt_landmarks_visible`` (18,) and, with
    ``with_masks``, ``fg_mask_path``.

    Args:
        data_root: the Taichi root (layout in :data:`LAYOUT`).
        split: ``'train'`` or ``'test'``.
        with_masks: add ``fg_mask_path``; None means ``split == 'test'`` (only the test images
            have masks).
        regression_split: tag every sample ``'train'`` or ``'test'`` for landmark regression.
        check_files: check every listed image (and mask) exists at initialisation.
        **kwargs: ``pipeline``, ``test_mode``, ``lazy_init``, ``indices``, ``serialize_data``,
            ``max_refetch``; they and ``check_files`` go to :class:`BasePartDataset`.
    """

    METAINFO = dict(
        dataset_name='Tai-Chi-HD',
        landmark_names=tuple(f'keypoint_{i}' for i in range(NUM_KEYPOINTS)))

    def __init__(self,
                 data_root: str,
                 split: str = 'test',
                 with_masks: Optional[bool] = None,
                 regression_split: Optional[str] = None,
                 **kwargs) -> None:
        self.split = check_choice(split, SPLITS, 'split')
        self.with_masks = split == 'test' if with_masks is None else bool(with_masks)
        self.regression_split = check_regression_split(regression_split)
        super().__init__(data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        img_dir = require_dir(osp.join(root, 'eval_images', 'taichi-256', self.split), LAYOUT)
        mask_dir = (
            require_dir(osp.join(root, 'taichi-test-masks'), LAYOUT) if self.with_masks else None)
        table_file = keypoint_table_path(root, self.split)
        if not osp.isfile(table_file):
            raise FileNotFoundError(f'{table_file} not found; run `{PREP_COMMAND} {root}` to '
                                    f'convert the official .pkl keypoints (expected layout: '
                                    f'{LAYOUT})')
        table = parse_table(table_file, LAYOUT, 2 * NUM_KEYPOINTS, skip_header=1)
        if not table:
            raise ValueError(f'{table_file} lists no image')
        names = list(table)
        img_paths = [osp.join(img_dir, name) for name in names]
        mask_paths = [osp.join(mask_dir, name) for name in names] if mask_dir is not None else []
        if self.check_files:
            check_files_exist(img_paths, table_file)
            check_files_exist(mask_paths, table_file)

        data_list = []
        for row, name in enumerate(names):
            points = table[name].reshape(NUM_KEYPOINTS, 2).astype(np.float32)  # (18, 2) (x, y)
            visible = (points != MISSING).all(1)
            info = dict(
                img_path=img_paths[row],
                gt_landmarks=np.where(visible[:, None], points, 0).astype(np.float32),
                gt_landmarks_visible=visible)
            if mask_paths:
                info['fg_mask_path'] = mask_paths[row]
            if self.regression_split is not None:
                info['regression_split'] = self.regression_split
            data_list.append(info)
        return data_list
