"""CUB-200-2011 birds with DisPart's per-category subsets and GANSeg's foreground split."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from partseg.registry import DATASETS
from .base_part_dataset import BasePartDataset
from .utils import (check_choice, check_files_exist, parse_int_pairs, parse_table, read_lines,
                    require_dir, require_file)

LAYOUT = ('DATA_ROOT (CUB_200_2011)/{images.txt, image_class_labels.txt, train_test_split.txt, '
          'bounding_boxes.txt, parts/part_locs.txt, images/<class>/<name>.jpg, '
          'segmentations/<class>/<name>.png (segmentations.tgz), train_val_test_split.txt '
          "(protocol='ganseg' only)}")
PROTOCOLS = ('official', 'ganseg')
SPLITS = {'official': ('train', 'test', 'all'), 'ganseg': ('train', 'val', 'test')}
# official train_test_split.txt: 1 = training image, 0 = test image
OFFICIAL_CODES = {'train': (1, ), 'test': (0, ), 'all': (0, 1)}
# train_val_test_split.txt of Chen et al. 2019 (ReDO), used by GANSeg: 0 / 1 / 2
GANSEG_CODES = {'train': (0, ), 'val': (1, ), 'test': (2, )}
GANSEG_SPLIT_FILE = 'train_val_test_split.txt'
NUM_PARTS = 15


def read_part_locs(path: str, image_ids: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    """``<image_id> <part_id> <x> <y> <visible>`` rows of ``parts/part_locs.txt``.

    Returns (len(image_ids), 15, 2) float32 (x, y) and (len(image_ids), 15) bool visibility for
    the requested images, in their order; a malformed line or a part missing for a requested image
    raises ValueError naming the file (and line).
    """
    row_of = {image_id: row for row, image_id in enumerate(image_ids)}
    points = np.zeros((len(image_ids), NUM_PARTS, 2), dtype=np.float32)
    visible = np.zeros((len(image_ids), NUM_PARTS), dtype=bool)
    seen = np.zeros((len(image_ids), NUM_PARTS), dtype=bool)
    for lineno, line in read_lines(path, LAYOUT):
        fields = line.split()
        try:
            if len(fields) != 5:
                raise ValueError
            image_id, part_id, vis = int(fields[0]), int(fields[1]), int(fields[4])
            x, y = float(fields[2]), float(fields[3])
            if not 1 <= part_id <= NUM_PARTS or vis not in (0, 1):
                raise ValueError
        except ValueError:
            raise ValueError(f'{path}:{lineno}: expected "<image_id> <part_id 1-{NUM_PARTS}> <x> '
                             f'<y> <visible 0|1>", got {line!r}') from None
        row = row_of.get(image_id)
        if row is None:
            continue
        points[row, part_id - 1] = (x, y)
        visible[row, part_id - 1] = bool(vis)
        seen[row, part_id - 1] = True
    if not seen.all():
        row, part = np.argwhere(~seen)[0]
        raise ValueError(f'{path}: no row for part {part + 1} of image {image_ids[row]}')
    return points, visible


@DATASETS.register_module()
class CUBDataset(BasePartDataset):
    """CUB-200-2011 (Wah et al. 2011) in its official layout, with two published protocols.

    - ``protocol='official'``: the official ``train_test_split.txt`` (``split`` 'train', 'test'
      or 'all'). DisPart's CUB-1/2/3 (Liu et al. 2021 Sec. 4.3, Table 4, following SCOPS) are
      ``categories=(1,)``, ``(2,)``, ``(3,)`` (ids of ``image_class_labels.txt``), cropped to the
      bounding box (``CropToBBox``), landmark error over the 15 annotated parts with x and y
      normalised by the box width and height.
    - ``protocol='ganseg'``: the 10,000 / 788 / 1,000 split of Chen et al. 2019 used by He et al.
      2022 Sec. 4.1 (``train_val_test_split.txt`` in the CUB root, codes 0 / 1 / 2), whole image
      resized, foreground IoU against ``segmentations/`` > 127.5 (``LoadFgMask``).

    Each entry holds ``img_path``, ``bbox`` (x1, y1, x2, y2) = (x, y, x + w, y + h) of
    ``bounding_boxes.txt``, ``gt_landmarks`` (15, 2) (x, y) pixels of ``parts/part_locs.txt`` as
    given, ``gt_landmarks_visible`` (15,), ``landmark_norm`` = box (w, h), ``category`` and, with
    ``with_masks``, ``fg_mask_path``.

    Args:
        data_root: the ``CUB_200_2011`` directory (layout in :data:`LAYOUT`).
        protocol: ``'official'`` or ``'ganseg'``.
        split: see :data:`SPLITS`.
        categories: class ids (1-200) to keep; None keeps every class.
        with_masks: add ``fg_mask_path`` (``segmentations/<class>/<name>.png``).
        regression_split: tag every sample ``'train'`` or ``'test'`` for landmark regression, or
            ``'official'``: tag each image by ``train_test_split.txt`` (training image ->
            ``'train'``, test image -> ``'test'``), so that one ``split='all'`` dataset holds both
            halves of the regression protocol.
        check_files: check every listed image (and mask) exists at initialisation.
        **kwargs: ``pipeline``, ``test_mode``, ``lazy_init``, ``indices``, ``serialize_data``,
            ``max_refetch``; they and ``check_files`` go to :class:`BasePartDataset`.
    """

    METAINFO = dict(
        dataset_name='CUB-200-2011',
        landmark_names=('back', 'beak', 'belly', 'breast', 'crown', 'forehead', 'left_eye',
                        'left_leg', 'left_wing', 'nape', 'right_eye', 'right_leg', 'right_wing',
                        'tail', 'throat'),
        # left eye / leg / wing <-> right eye / leg / wing
        landmark_flip_indices=(0, 1, 2, 3, 4, 5, 10, 11, 12, 9, 6, 7, 8, 13, 14))

    def __init__(self,
                 data_root: str,
                 protocol: str = 'official',
                 split: str = 'train',
                 categories: Optional[Sequence[int]] = None,
                 with_masks: bool = False,
                 regression_split: Optional[str] = None,
                 **kwargs) -> None:
        self.protocol = check_choice(protocol, PROTOCOLS, 'protocol')
        self.split = check_choice(split, SPLITS[protocol], 'split')
        if categories is not None:
            categories = tuple(categories)
            if not categories or not all(
                    isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= 200
                    for c in categories):
                raise ValueError(f'categories must be class ids in 1..200, got {categories!r}')
        self.categories = categories
        self.with_masks = with_masks
        if regression_split is not None:
            check_choice(regression_split, ('train', 'test', 'official'), 'regression_split')
        self.regression_split = regression_split
        super().__init__(data_root, **kwargs)

    def _split_ids(self, root: str) -> Dict[int, int]:
        """{image_id: split code} of the protocol's split file."""
        name = 'train_test_split.txt' if self.protocol == 'official' else GANSEG_SPLIT_FILE
        return parse_int_pairs(require_file(osp.join(root, name), LAYOUT), LAYOUT)

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        img_dir = require_dir(osp.join(root, 'images'), LAYOUT)
        images_file = require_file(osp.join(root, 'images.txt'), LAYOUT)
        labels = parse_int_pairs(
            require_file(osp.join(root, 'image_class_labels.txt'), LAYOUT), LAYOUT)
        codes = self._split_ids(root)
        is_train = (
            parse_int_pairs(require_file(osp.join(root, 'train_test_split.txt'), LAYOUT), LAYOUT)
            if self.regression_split == 'official' else {})
        boxes_file = require_file(osp.join(root, 'bounding_boxes.txt'), LAYOUT)
        parts_file = require_file(osp.join(root, 'parts', 'part_locs.txt'), LAYOUT)
        mask_dir = (
            require_dir(osp.join(root, 'segmentations'), LAYOUT) if self.with_masks else None)

        keep = (OFFICIAL_CODES if self.protocol == 'official' else GANSEG_CODES)[self.split]
        split_file = ('train_test_split.txt' if self.protocol == 'official' else GANSEG_SPLIT_FILE)
        tables = [(labels, 'image_class_labels.txt'), (codes, split_file)]
        if is_train:
            tables.append((is_train, 'train_test_split.txt'))
        names: Dict[int, str] = {}
        for lineno, line in read_lines(images_file, LAYOUT):
            fields = line.split()
            if len(fields) != 2 or not fields[0].isdigit():
                raise ValueError(f'{images_file}:{lineno}: expected "<image_id> <path>", '
                                 f'got {line!r}')
            image_id = int(fields[0])
            for table, table_name in tables:
                if image_id not in table:
                    raise KeyError(f'image {image_id} ({fields[1]}) has no row in '
                                   f'{osp.join(root, table_name)}')
            if codes[image_id] not in keep:
                continue
            if self.categories is not None and labels[image_id] not in self.categories:
                continue
            names[image_id] = fields[1]
        image_ids = list(names)

        boxes = parse_table(boxes_file, LAYOUT, 4, keys=[str(i) for i in image_ids])
        missing = [i for i in image_ids if str(i) not in boxes]
        if missing:
            raise KeyError(f'image {missing[0]} has no row in {boxes_file}')
        points, visible = read_part_locs(parts_file, image_ids)

        img_paths = [osp.join(img_dir, names[i]) for i in image_ids]
        mask_paths = ([osp.join(mask_dir,
                                osp.splitext(names[i])[0] + '.png')
                       for i in image_ids] if mask_dir is not None else [])
        if self.check_files:
            check_files_exist(img_paths, images_file)
            check_files_exist(mask_paths, images_file)

        data_list = []
        for row, image_id in enumerate(image_ids):
            x, y, w, h = boxes[str(image_id)]
            if not np.isfinite([x, y, w, h]).all():
                raise ValueError(f'{boxes_file}: image {image_id} has a non-finite box '
                                 f'(x {x}, y {y}, width {w}, height {h})')
            if not (w > 0 and h > 0):
                raise ValueError(f'{boxes_file}: image {image_id} has an empty box '
                                 f'(width {w}, height {h})')
            info = dict(
                img_path=img_paths[row],
                image_id=image_id,
                category=labels[image_id],
                bbox=np.array([x, y, x + w, y + h], dtype=np.float32),
                gt_landmarks=points[row],
                gt_landmarks_visible=visible[row],
                landmark_norm=np.array([w, h], dtype=np.float32))
            if mask_paths:
                info['fg_mask_path'] = mask_paths[row]
            if self.regression_split == 'official':
                info['regression_split'] = 'train' if is_train[image_id] == 1 else 'test'
            elif self.regression_split is not None:
                info['regression_split'] = self.regression_split
            data_list.append(info)
        return data_list
