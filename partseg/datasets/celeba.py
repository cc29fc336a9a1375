"""CelebA faces with the MAFL landmark splits, in-the-wild and aligned protocols."""
import os.path as osp
from typing import List, Optional

import numpy as np

from partseg.registry import DATASETS
from .base_part_dataset import BasePartDataset
from .utils import (check_choice, check_files_exist, check_regression_split, interocular_norm,
                    parse_table, read_name_list, require_dir, require_file)

LAYOUT = ('DATA_ROOT/{Img/img_celeba/ (wild), Img/img_align_celeba/ (aligned), '
          'Anno/list_landmarks_celeba.txt, Anno/list_landmarks_align_celeba.txt, '
          'Anno/list_bbox_celeba.txt, Eval/list_eval_partition.txt, MAFL/training.txt, '
          'MAFL/testing.txt, splits/celeba_<protocol>_<split>.txt}')
PROTOCOLS = ('wild', 'aligned')
SPLITS = ('train', 'mafl_train', 'mafl_test')
IMAGE_DIRS = {'wild': 'Img/img_celeba', 'aligned': 'Img/img_align_celeba'}
LANDMARK_FILES = {
    'wild': 'Anno/list_landmarks_celeba.txt',
    'aligned': 'Anno/list_landmarks_align_celeba.txt'
}
BBOX_FILE = 'Anno/list_bbox_celeba.txt'
PREP_COMMAND = 'python tools/dataset_converters/celeba.py'


def split_list_path(data_root: str, protocol: str, split: str) -> str:
    """Where ``tools/dataset_converters/celeba.py`` writes the list of one protocol split."""
    return osp.join(data_root, 'splits', f'celeba_{protocol}_{split}.txt')


@DATASETS.register_module()
class CelebADataset(BasePartDataset):
    """CelebA (Liu et al. 2015) with MAFL landmark splits (Zhang et al. 2016).

    Protocols (He et al. 2022 Sec. 4.1; Liu et al. 2021 Sec. 4.2):

    - ``'wild'``: the unaligned ``Img/img_celeba`` images whose face box covers at least 30 % of
      the image; ``split='train'`` (unsupervised training: CelebA training partition without the
      MAFL test images, 45,609 after filtering), ``'mafl_train'`` (regression fit, 5,379) and
      ``'mafl_test'`` (283). The whole image is used (GANSeg resizes it, no crop).
    - ``'aligned'``: ``Img/img_align_celeba`` with the same three splits unfiltered (about
      160k / 19,000 / 1,000).

    The split lists come from ``tools/dataset_converters/celeba.py DATA_ROOT`` (it prints their
    counts and checksums). Each entry holds ``img_path``, ``gt_landmarks`` (5, 2) pixel (x, y) in
    the order left eye, right eye, nose, left mouth corner, right mouth corner,
    ``gt_landmarks_visible`` (all True), ``landmark_norm`` (inter-ocular distance twice, in
    pixels of the original image; the papers measure it on the resized input, so test pipelines
    put ``SetLandmarkNorm`` after ``ResizeParts``) and, for the wild images, the face ``bbox``
    (x1, y1, x2, y2). Annotation values are used as given (integer pixel positions).

    Args:
        data_root: CelebA root (layout in :data:`LAYOUT`).
        protocol: ``'wild'`` or ``'aligned'``.
        split: ``'train'``, ``'mafl_train'`` or ``'mafl_test'``.
        regression_split: tag every sample ``'train'`` or ``'test'`` for landmark regression;
            None leaves it untagged.
        check_files: check every listed image exists at initialisation.
        **kwargs: ``pipeline``, ``test_mode``, ``lazy_init``, ``indices``, ``serialize_data``,
            ``max_refetch``; they and ``check_files`` go to :class:`BasePartDataset`.
    """

    METAINFO = dict(
        dataset_name='CelebA',
        landmark_names=('left_eye', 'right_eye', 'nose', 'left_mouth', 'right_mouth'),
        landmark_flip_indices=(1, 0, 2, 4, 3),
        eye_indices=(0, 1))

    def __init__(self,
                 data_root: str,
                 protocol: str = 'wild',
                 split: str = 'train',
                 regression_split: Optional[str] = None,
                 **kwargs) -> None:
        self.protocol = check_choice(protocol, PROTOCOLS, 'protocol')
        self.split = check_choice(split, SPLITS, 'split')
        self.regression_split = check_regression_split(regression_split)
        super().__init__(data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        # The official files first: a wrong data root names one of them, not a derived list.
        img_dir = require_dir(osp.join(root, IMAGE_DIRS[self.protocol]), LAYOUT)
        landmark_file = require_file(osp.join(root, LANDMARK_FILES[self.protocol]), LAYOUT)
        bbox_file = osp.join(root, BBOX_FILE)
        if self.protocol == 'wild':
            require_file(bbox_file, LAYOUT)
        list_file = split_list_path(root, self.protocol, self.split)
        names = read_name_list(
            list_file,
            LAYOUT,
            hint=f'run `{PREP_COMMAND} {root}` to write the split lists (expected layout: '
            f'{LAYOUT})')
        # CelebA annotation files: a count line, a header line, then one row per image.
        landmarks = parse_table(
            check_annotation_header(landmark_file), LAYOUT, 10, skip_header=2, keys=names)
        boxes = (
            parse_table(check_annotation_header(bbox_file), LAYOUT, 4, skip_header=2, keys=names)
            if self.protocol == 'wild' else {})
        img_paths = [osp.join(img_dir, name) for name in names]
        if self.check_files:
            check_files_exist(img_paths, list_file)

        eyes = self.METAINFO['eye_indices']
        data_list = []
        for name, img_path in zip(names, img_paths):
            if name not in landmarks:
                raise KeyError(f'{name} (listed in {list_file}) has no row in {landmark_file}')
            points = landmarks[name].reshape(5, 2).astype(np.float32)  # (x, y) per landmark
            info = dict(
                img_path=img_path,
                gt_landmarks=points,
                gt_landmarks_visible=np.ones(5, dtype=bool),
                landmark_norm=interocular_norm(points, eyes))
            if self.protocol == 'wild':
                if name not in boxes:
                    raise KeyError(f'{name} (listed in {list_file}) has no row in {bbox_file}')
                x, y, w, h = boxes[name]
                info['bbox'] = np.array([x, y, x + w, y + h], dtype=np.float32)
            if self.regression_split is not None:
                info['regression_split'] = self.regression_split
            data_list.append(info)
        return data_list


def check_annotation_header(path: str) -> str:
    """``path`` if it starts as a CelebA annotation file does (a line with the image count, then
    the column names); otherwise a one-line ValueError saying which header line is missing."""
    with open(path, encoding='utf-8') as f:
        head = [line.strip() for line, _ in zip(f, range(2))]
    if not head or not head[0].isdigit():
        first = head[0] if head else ''
        raise ValueError(f'{path}: the header is missing: line 1 must be the image count (then a '
                         f'line of column names), got {first!r}')
    if len(head) < 2 or _is_data_row(head[1]):
        second = head[1] if len(head) > 1 else ''
        raise ValueError(f'{path}: the header is missing: line 2 must be the column names, got '
                         f'{second!r}')
    return path


def _is_data_row(line: str) -> bool:
    """A line ``<name> <number> ...`` (an image's row, not the column names)."""
    try:
        numbers = [float(v) for v in line.split()[1:]]
    except ValueError:
        return False
    return bool(numbers)
