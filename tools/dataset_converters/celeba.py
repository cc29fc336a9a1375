"""Write the CelebA / MAFL split lists of partseg's wild and aligned protocols.

    python tools/dataset_converters/celeba.py DATA_ROOT [--min-face-area 0.3]
        [--train-list celebA_training.txt] [--imsize-list list_imsize_celeba.txt]

Reads the official CelebA files (``Eval/list_eval_partition.txt``, ``Anno/list_bbox_celeba.txt``,
``Img/img_celeba/``) and the MAFL lists (``MAFL/training.txt``, ``MAFL/testing.txt``) and writes
``DATA_ROOT/splits/celeba_{wild,aligned}_{train,mafl_train,mafl_test}.txt`` plus
``splits/celeba_manifest.txt`` (file, count, sha256 of the sorted list = ``sha256sum`` of the
file) and prints them. He et al. 2022 report 45,609 / 5,379 / 283 images for the wild protocol
and about 160k / 19,000 / 1,000 for the aligned one.

- unsupervised ``train``: CelebA's training partition (``list_eval_partition`` 0) without the MAFL
  test images. GANSeg ships its list as ``data/celeba_wild_raw/MAFL/celebA_training.txt``
  (161,962 names); pass it with ``--train-list`` to use it verbatim (then ``Eval/`` is not read).
- wild protocol: keep an image when its face box covers at least ``--min-face-area`` of the
  image (He et al. 2022 Sec. 4.1, following SCOPS). Image sizes come from the image headers in
  ``Img/img_celeba/`` or from GANSeg's ``list_imsize_celeba.txt`` (``--imsize-list``).
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

from PIL import Image

from partseg.datasets.celeba import (BBOX_FILE, IMAGE_DIRS, LAYOUT, PROTOCOLS, SPLITS,
                                     split_list_path)
from partseg.datasets.utils import (list_sha256, parse_table, read_lines, read_name_list,
                                    require_file, write_name_list)
from partseg.utils.progress import track

PARTITION_FILE = 'Eval/list_eval_partition.txt'
MAFL_FILES = {'mafl_train': 'MAFL/training.txt', 'mafl_test': 'MAFL/testing.txt'}
# He et al. 2022 Sec. 4.1 (the aligned training set is "160k images"; MAFL lists hold 19k / 1k)
PAPER_COUNTS = {
    'wild': {
        'train': 45609,
        'mafl_train': 5379,
        'mafl_test': 283
    },
    'aligned': {
        'mafl_train': 19000,
        'mafl_test': 1000
    },
}


def read_partition(path: str) -> Dict[str, int]:
    """``<name> <0|1|2>`` rows of ``list_eval_partition.txt`` -> {name: partition}."""
    partition = {}
    for lineno, line in read_lines(path, LAYOUT):
        fields = line.split()
        if len(fields) != 2 or fields[1] not in ('0', '1', '2'):
            raise ValueError(f'{path}:{lineno}: expected "<image> <0|1|2>", got {line!r}')
        partition[fields[0]] = int(fields[1])
    return partition


def read_image_areas(root: str, names: Sequence[str], imsize_list: Optional[str]) -> Dict[str, int]:
    """Pixel count of every wild image, from an ``<name> h w`` list or the image headers."""
    if imsize_list is not None:
        sizes = parse_table(imsize_list, '<image> <height> <width> per line', 2, keys=names)
        missing = [name for name in names if name not in sizes]
        if missing:
            raise KeyError(f'{missing[0]} has no row in {imsize_list}')
        return {name: int(sizes[name][0] * sizes[name][1]) for name in names}
    areas = {}
    img_dir = osp.join(root, IMAGE_DIRS['wild'])
    for name in track(names, 'reading image sizes'):  # ~200k headers: minutes on a slow disk
        path = require_file(osp.join(img_dir, name), LAYOUT)
        with Image.open(path) as img:  # reads the header only
            areas[name] = img.size[0] * img.size[1]
    return areas


def make_splits(root: str, min_face_area: float, train_list: Optional[str],
                imsize_list: Optional[str]) -> Dict[str, Dict[str, List[str]]]:
    """{protocol: {split: sorted names}} for both protocols."""
    mafl = {
        split: read_name_list(osp.join(root, path), LAYOUT)
        for split, path in MAFL_FILES.items()
    }
    if train_list is not None:
        train = read_name_list(train_list, LAYOUT)
    else:
        partition = read_partition(osp.join(root, PARTITION_FILE))
        mafl_test = set(mafl['mafl_test'])
        train = [name for name, part in partition.items() if part == 0 and name not in mafl_test]
    aligned = {'train': sorted(train), **{k: sorted(v) for k, v in mafl.items()}}

    names = sorted(set().union(*aligned.values()))
    boxes = parse_table(osp.join(root, BBOX_FILE), LAYOUT, 4, skip_header=2, keys=names)
    areas = read_image_areas(root, names, imsize_list)
    keep = set()
    for name in names:
        if name not in boxes:
            raise KeyError(f'{name} has no row in {osp.join(root, BBOX_FILE)}')
        if boxes[name][2] * boxes[name][3] >= min_face_area * areas[name]:
            keep.add(name)
    wild = {
        split: [name for name in split_names if name in keep]
        for split, split_names in aligned.items()
    }
    return {'wild': wild, 'aligned': aligned}


def write_splits(root: str, splits: Dict[str, Dict[str, List[str]]]) -> List[str]:
    """Write the lists and the manifest; return the manifest rows."""
    os.makedirs(osp.join(root, 'splits'), exist_ok=True)
    rows = []
    for protocol in PROTOCOLS:
        for split in SPLITS:
            path = split_list_path(root, protocol, split)
            write_name_list(path, splits[protocol][split])
            names = splits[protocol][split]
            rows.append(f'{osp.basename(path)} {len(names)} {list_sha256(names)}')
    with open(osp.join(root, 'splits', 'celeba_manifest.txt'), 'w', encoding='utf-8') as f:
        f.writelines(row + '\n' for row in rows)
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data_root', help='CelebA root directory')
    parser.add_argument(
        '--min-face-area',
        type=float,
        default=0.3,
        help='wild protocol: minimum face-box area / image area (default 0.3)')
    parser.add_argument(
        '--train-list',
        help='use this list (e.g. GANSeg celebA_training.txt) '
        'as the unsupervised training set')
    parser.add_argument(
        '--imsize-list', help='"<image> <height> <width>" list instead of '
        'reading image headers')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    args = parser.parse_args(argv)
    try:
        root = osp.abspath(args.data_root)
        splits = make_splits(root, args.min_face_area, args.train_list, args.imsize_list)
        rows = write_splits(root, splits)
    except (FileNotFoundError, ValueError, KeyError, OSError) as err:
        if args.debug:
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f'partseg: error: {message}', file=sys.stderr)
        return 1
    print(f'wrote {osp.join(root, "splits")}/ (file, count, sha256 of the sorted list):')
    for row in rows:
        print('  ' + row)
    for protocol, counts in PAPER_COUNTS.items():
        paper = ', '.join(f'{split} {count}' for split, count in counts.items())
        print(f'reported by He et al. 2022 ({protocol} protocol): {paper}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
