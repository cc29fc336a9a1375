"""PASCAL VOC 2012 object crops of one category, with instance masks for the fg IoU."""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import List, Tuple

import numpy as np

from partseg.registry import DATASETS
from .base_part_dataset import BasePartDataset
from .utils import check_choice, check_files_exist, read_lines, require_dir, require_file

LAYOUT = ('DATA_ROOT (VOCdevkit/VOC2012)/{JPEGImages/<id>.jpg, Annotations/<id>.xml, '
          'SegmentationObject/<id>.png, ImageSets/Main/<category>_<image_set>.txt, '
          'ImageSets/Segmentation/<image_set>.txt}')
CATEGORIES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
              'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa',
              'train', 'tvmonitor')
# the seven categories of SCOPS (Hung et al. 2019) and Liu et al. 2021 Table 5
DISPART_CATEGORIES = ('sheep', 'bus', 'motorbike', 'horse', 'cow', 'aeroplane', 'car')
IMAGE_SETS = ('train', 'val', 'trainval')


def _flag(obj: ET.Element, tag: str) -> bool:
    """A VOC 0/1 flag of an <object>; absent means 0."""
    text = obj.findtext(tag)
    return text is not None and text.strip() == '1'


def read_objects(path: str) -> List[dict]:
    """Every <object> of a VOC annotation, in file order: name, bbox (pixel corners), flags.

    VOC boxes hold 1-based inclusive pixel indices; pixel i covers [i - 1, i) here, so
    (xmin, ymin, xmax, ymax) becomes (xmin - 1, ymin - 1, xmax, ymax).
    """
    try:
        tree = ET.parse(path)
    except ET.ParseError as err:
        raise ValueError(f'cannot parse {path}: {err}') from None
    objects = []
    for index, obj in enumerate(tree.getroot().findall('object'), start=1):
        box = obj.find('bndbox')
        try:
            name = obj.findtext('name').strip()
            coords = [float(box.findtext(tag)) for tag in ('xmin', 'ymin', 'xmax', 'ymax')]
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f'{path}: object {index} lacks a name or a numeric '
                             'bndbox/{xmin,ymin,xmax,ymax}') from None
        x1, y1, x2, y2 = coords
        if not (x2 >= x1 and y2 >= y1):
            raise ValueError(f'{path}: object {index} has an empty box {coords}')
        objects.append(
            dict(
                name=name,
                index=index,
                bbox=np.array([x1 - 1, y1 - 1, x2, y2], dtype=np.float32),
                difficult=_flag(obj, 'difficult'),
                truncated=_flag(obj, 'truncated'),
                occluded=_flag(obj, 'occluded')))
    return objects


@DATASETS.register_module()
class VOCPartDataset(BasePartDataset):
    """Objects of one PASCAL VOC 2012 category, one entry per instance (Liu et al. 2021 Sec. 4.3).

    Following SCOPS (Hung et al. 2019) and Liu et al. 2021 Table 5, each object is cropped by its
    bounding box (``CropToBBox`` in the pipeline) and, for evaluation, the union of the predicted
    parts is compared with the object's instance mask (fg IoU). With ``with_masks=False`` the
    objects of every image that ``ImageSets/Main/<category>_<image_set>.txt`` marks as holding
    the category (flag 1 or 0) are listed (for training); with ``with_masks=True`` the images of
    ``ImageSets/Segmentation/<image_set>.txt`` are used and each entry gets ``fg_mask_path``
    (``SegmentationObject/<id>.png``) and ``fg_label``, the object's 1-based position in its
    annotation file, which is its index in the instance mask (``LoadFgMask(rule='label')``; the
    void border 255 counts as background).

    Entries hold ``img_path``, ``bbox`` (x1, y1, x2, y2) in pixel corners, ``object_index`` and
    the mask keys above.

    Args:
        data_root: the ``VOC2012`` directory (layout in :data:`LAYOUT`).
        category: one of :data:`CATEGORIES`.
        image_set: ``'train'``, ``'val'`` or ``'trainval'``.
        with_masks: list the segmented images and add the instance-mask keys.
        skip_difficult / skip_truncated / skip_occluded: drop objects with that flag.
        min_size: drop objects whose box is narrower or lower than this many pixels.
        check_files: check every listed image (and mask) exists at initialisation.
        **kwargs: ``pipeline``, ``test_mode``, ``lazy_init``, ``indices``, ``serialize_data``,
            ``max_refetch``; they and ``check_files`` go to :class:`BasePartDataset`.
    """

    METAINFO = dict(dataset_name='PASCAL VOC 2012')

    def __init__(self,
                 data_root: str,
                 category: str,
                 image_set: str = 'train',
                 with_masks: bool = False,
                 skip_difficult: bool = True,
                 skip_truncated: bool = False,
                 skip_occluded: bool = False,
                 min_size: float = 0.0,
                 **kwargs) -> None:
        self.category = check_choice(category, CATEGORIES, 'category')
        self.image_set = check_choice(image_set, IMAGE_SETS, 'image_set')
        if min_size < 0:
            raise ValueError(f'min_size must be >= 0, got {min_size}')
        self.with_masks = with_masks
        self.skip = dict(difficult=skip_difficult, truncated=skip_truncated, occluded=skip_occluded)
        self.min_size = float(min_size)
        super().__init__(data_root, metainfo=dict(category=category), **kwargs)

    def _image_ids(self) -> Tuple[List[str], str]:
        """Ids of the images to scan and the image-set list they come from."""
        root = self.data_root
        if self.with_masks:
            path = osp.join(root, 'ImageSets', 'Segmentation', f'{self.image_set}.txt')
            lines = read_lines(require_file(path, LAYOUT), LAYOUT)
            return [line.split()[0] for _, line in lines], path
        path = osp.join(root, 'ImageSets', 'Main', f'{self.category}_{self.image_set}.txt')
        ids = []
        for lineno, line in read_lines(require_file(path, LAYOUT), LAYOUT):
            fields = line.split()
            if len(fields) != 2 or fields[1] not in ('1', '0', '-1'):
                raise ValueError(f'{path}:{lineno}: expected "<image id> <1|0|-1>", got {line!r}')
            if fields[1] != '-1':
                ids.append(fields[0])
        return ids, path

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        img_dir = require_dir(osp.join(root, 'JPEGImages'), LAYOUT)
        ann_dir = require_dir(osp.join(root, 'Annotations'), LAYOUT)
        mask_dir = (
            require_dir(osp.join(root, 'SegmentationObject'), LAYOUT) if self.with_masks else None)
        image_ids, list_file = self._image_ids()
        data_list = []
        for image_id in image_ids:
            ann_file = osp.join(ann_dir, f'{image_id}.xml')
            if not osp.isfile(ann_file):
                raise FileNotFoundError(f'{ann_file} not found (referred to by {list_file}; '
                                        f'expected layout: {LAYOUT})')
            for obj in read_objects(ann_file):
                if obj['name'] != self.category or any(obj[k] for k, on in self.skip.items() if on):
                    continue
                x1, y1, x2, y2 = obj['bbox']
                if min(x2 - x1, y2 - y1) < self.min_size:
                    continue
                info = dict(
                    img_path=osp.join(img_dir, f'{image_id}.jpg'),
                    image_id=image_id,
                    object_index=obj['index'],
                    bbox=obj['bbox'])
                if mask_dir is not None:
                    info['fg_mask_path'] = osp.join(mask_dir, f'{image_id}.png')
                    info['fg_label'] = obj['index']
                data_list.append(info)
        if self.check_files:
            check_files_exist(sorted({info['img_path'] for info in data_list}), list_file)
            check_files_exist(
                sorted({info['fg_mask_path']
                        for info in data_list if 'fg_mask_path' in info}), list_file)
        return data_list
