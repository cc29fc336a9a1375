"""AFLW faces, the unaligned 5-landmark release used by Zhang et al. 2018 and Thewlis et al."""
import os.path as osp
from typing import List, Optional

import numpy as np
from scipy.io import loadmat
from scipy.io.matlab import MatReadError

from partseg.registry import DATASETS
from .base_part_dataset import BasePartDataset
from .utils import (check_choice, check_files_exist, check_regression_split, interocular_norm,
                    read_name_list, require_dir, require_file)

LAYOUT = ('DATA_ROOT/{aflw_train_images.txt, aflw_test_images.txt, aflw_train_keypoints.mat, '
          'aflw_test_keypoints.mat, output/<listed image paths>} (aflw_release-2)')
SPLITS = ('train', 'test')


@DATASETS.register_module()
class AFLWDataset(BasePartDataset):
    """AFLW (Koestinger et al. 2011), 5-landmark unaligned subset (Liu et al. 2021 Sec. 4.2).

    Reads the release distributed as ``aflw_release-2`` by Thewlis et al. (the AFLW face crops
    of Zhang et al. 2018, ``lmdis-rep`` ``aflw_data``; 10,122 training / 2,991 test faces as
    reported there): ``aflw_<split>_images.txt`` lists image paths relative to ``output/``, and
    ``aflw_<split>_keypoints.mat`` holds ``gt`` (N, 5, 2) landmarks stored as (row, col) pixels
    -- swapped here to (x, y); IMM's loader pairs them with ``hw`` (height, width) -- in the
    order left eye, right eye, nose, left mouth corner, right mouth corner. Each entry holds
    ``img_path``, ``gt_landmarks`` (5, 2), ``gt_landmarks_visible`` (all True) and
    ``landmark_norm`` (the inter-ocular distance twice, landmarks 0 and 1, in the original image;
    test pipelines recompute it after the resize with ``SetLandmarkNorm``).

    Args:
        data_root: the ``aflw_release-2`` directory.
        split: ``'train'`` or ``'test'``.
        regression_split: tag the samples ``'train'`` / ``'test'`` for landmark regression.
        check_files: check every listed image exists at initialisation.
        **kwargs: ``pipeline``, ``test_mode``, ``lazy_init``, ``indices``, ``serialize_data``,
            ``max_refetch``; they and ``check_files`` go to :class:`BasePartDataset`.
    """

    METAINFO = dict(
        dataset_name='AFLW',
        landmark_names=('left_eye', 'right_eye', 'nose', 'left_mouth', 'right_mouth'),
        landmark_flip_indices=(1, 0, 2, 4, 3),
        eye_indices=(0, 1))

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 regression_split: Optional[str] = None,
                 **kwargs) -> None:
        self.split = check_choice(split, SPLITS, 'split')
        self.regression_split = check_regression_split(regression_split)
        super().__init__(data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        list_file = osp.join(root, f'aflw_{self.split}_images.txt')
        mat_file = require_file(osp.join(root, f'aflw_{self.split}_keypoints.mat'), LAYOUT)
        names = read_name_list(list_file, LAYOUT)
        img_dir = require_dir(osp.join(root, 'output'), LAYOUT)
        try:
            mat = loadmat(mat_file)
        except (MatReadError, ValueError, OSError, TypeError, IndexError, EOFError) as err:
            raise ValueError(f'cannot read {mat_file}: {err or type(err).__name__}') from None
        if 'gt' not in mat:
            raise KeyError(f"{mat_file} has no 'gt' array (expected (N, 5, 2) landmarks)")
        gt = mat['gt']
        if gt.shape != (len(names), 5, 2):
            raise ValueError(f"{mat_file}: 'gt' has shape {gt.shape}, expected ({len(names)}, 5, "
                             f'2) for the {len(names)} images of {list_file}')
        points = np.ascontiguousarray(gt[:, :, ::-1], dtype=np.float32)  # (row, col) -> (x, y)
        img_paths = [osp.join(img_dir, name) for name in names]
        if self.check_files:
            check_files_exist(img_paths, list_file)

        eyes = self.METAINFO['eye_indices']
        data_list = []
        for img_path, landmarks in zip(img_paths, points):
            info = dict(
                img_path=img_path,
                gt_landmarks=landmarks,
                gt_landmarks_visible=np.ones(5, dtype=bool),
                landmark_norm=interocular_norm(landmarks, eyes))
            if self.regression_split is not None:
                info['regression_split'] = self.regression_split
            data_list.append(info)
        return data_list
