"""DeepFashion In-shop Clothes Retrieval images, full-body views (Liu et al. 2021 Sec. 4.4)."""
import os.path as osp
from typing import List, Optional, Sequence

from partseg.registry import DATASETS
from .base_part_dataset import BasePartDataset
from .utils import check_choice, check_files_exist, read_lines, require_dir, require_file

LAYOUT = ('DATA_ROOT (In-shop Clothes Retrieval Benchmark)/{Img/img/<gender>/<category>/<item>/'
          '<nn>_<k>_<view>.jpg (Img/img.zip), Eval/list_eval_partition.txt}')
PARTITION_FILE = 'Eval/list_eval_partition.txt'
SPLITS = ('train', 'query', 'gallery', 'test', 'all')
STATUSES = ('train', 'query', 'gallery')
SPLIT_STATUSES = {
    'train': ('train', ),
    'query': ('query', ),
    'gallery': ('gallery', ),
    'test': ('query', 'gallery'),
    'all': STATUSES
}


def view_of(image_name: str) -> str:
    """The view token of an In-shop file name: ``.../01_4_full.jpg`` -> ``'full'``."""
    stem = osp.splitext(osp.basename(image_name))[0]
    return stem.split('_', 2)[-1] if stem.count('_') >= 2 else ''


@DATASETS.register_module()
class DeepFashionDataset(BasePartDataset):
    """DeepFashion In-shop (Liu et al. 2016) images of some views, for unsupervised training.

    Liu et al. 2021 Sec. 4.4 train on the full-body images of the In-shop Clothes Retrieval
    benchmark and show appearance / shape transfer (no quantitative metric). Images are listed by
    ``Eval/list_eval_partition.txt`` (a count line, a header line, then ``<image_name> <item_id>
    <train|query|gallery>``) and kept when the view token of their name (``01_4_full.jpg`` ->
    ``full``; others are ``front``, ``side``, ``back``, ``additional``, ``flat``) is in ``views``.
    Entries hold ``img_path`` and ``item_id``.

    Args:
        data_root: the In-shop benchmark directory (layout in :data:`LAYOUT`).
        split: ``'train'``, ``'query'``, ``'gallery'``, ``'test'`` (query + gallery) or ``'all'``.
        views: view tokens to keep; None keeps every image.
        img_dir: folder, relative to ``data_root``, that the partition's ``img/...`` names start
            from (``'Img'`` when ``Img/img.zip`` was unpacked in place).
        check_files: check every listed image exists at initialisation.
        **kwargs: ``pipeline``, ``test_mode``, ``lazy_init``, ``indices``, ``serialize_data``,
            ``max_refetch``; they and ``check_files`` go to :class:`BasePartDataset`.
    """

    METAINFO = dict(dataset_name='DeepFashion In-shop')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 views: Optional[Sequence[str]] = ('full', ),
                 img_dir: str = 'Img',
                 **kwargs) -> None:
        self.split = check_choice(split, SPLITS, 'split')
        if isinstance(views, str):
            raise TypeError(f'views must be a sequence of view tokens, not the string {views!r}')
        self.views = None if views is None else tuple(views)
        self.img_dir = img_dir
        super().__init__(data_root, **kwargs)

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        partition = require_file(osp.join(root, PARTITION_FILE), LAYOUT)
        img_root = require_dir(osp.join(root, self.img_dir), LAYOUT)
        wanted = SPLIT_STATUSES[self.split]
        data_list = []
        for lineno, line in read_lines(partition, LAYOUT, skip_header=2):
            fields = line.split()
            if len(fields) != 3 or fields[2] not in STATUSES:
                raise ValueError(f'{partition}:{lineno}: expected "<image_name> <item_id> '
                                 f'<train|query|gallery>", got {line!r}')
            name, item_id, status = fields
            if status not in wanted or (self.views is not None and view_of(name) not in self.views):
                continue
            data_list.append(dict(img_path=osp.join(img_root, name), item_id=item_id))
        if not data_list:
            raise ValueError(f"{partition} lists no '{self.split}' image with a view in "
                             f'{self.views}')
        if self.check_files:
            check_files_exist([info['img_path'] for info in data_list], partition)
        return data_list
