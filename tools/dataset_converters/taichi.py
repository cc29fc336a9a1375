"""Convert the official Tai-Chi keypoint pickles to the text tables ``TaichiDataset`` reads.

    python tools/dataset_converters/taichi.py DATA_ROOT [--pkl-dir DIR]

Reads ``taichi_train_gt.pkl`` and ``taichi_test_gt.pkl`` (pandas DataFrames with columns
``file_name`` and ``value``, an (18, 2) array of (x, y) pixels with -1 for a missing keypoint, as
shipped in ``landmarks/`` of AliaksandrSiarohin/motion-cosegmentation) from ``DATA_ROOT/landmark``
(or ``--pkl-dir``) and writes ``DATA_ROOT/landmark/taichi_{train,test}_gt.csv``: a header line,
then ``<file_name> x_0 y_0 ... x_17 y_17`` per image in the pickle's order. Reading the pickles
needs pandas (``pip install pandas``); unpickling runs code from the file, so only convert the
files of the official repository. The papers use 5,000 train and 300 test images.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np

from partseg.datasets.taichi import NUM_KEYPOINTS, SPLITS, keypoint_table_path

PAPER_COUNTS = {'train': 5000, 'test': 300}


def read_official_pickle(path: str) -> Tuple[List[str], np.ndarray]:
    """(file names, (N, 18, 2) float64 keypoints) of one official pickle."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(f'reading {path} needs pandas: pip install pandas') from None
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found; download it from the landmarks/ folder of '
                                'AliaksandrSiarohin/motion-cosegmentation')
    frame = pd.read_pickle(path)
    for column in ('file_name', 'value'):
        if column not in frame:
            raise KeyError(f"{path} has no '{column}' column")
    return [str(name) for name in frame['file_name']], stack_keypoints(list(frame['value']), path)


def stack_keypoints(values: Sequence, source: str) -> np.ndarray:
    """Stack per-image keypoint arrays into (N, 18, 2), naming the first malformed row."""
    rows = []
    for index, value in enumerate(values):
        array = np.asarray(value, dtype=np.float64)
        if array.shape != (NUM_KEYPOINTS, 2) or not np.isfinite(array).all():
            raise ValueError(f'{source}: row {index} holds keypoints of shape {array.shape}, '
                             f'expected finite ({NUM_KEYPOINTS}, 2)')
        rows.append(array)
    return np.stack(rows) if rows else np.zeros((0, NUM_KEYPOINTS, 2))


def write_keypoint_table(path: str, names: Sequence[str], keypoints: np.ndarray) -> None:
    """Write the header and one ``<file_name> x_0 y_0 ... x_17 y_17`` line per image."""
    if len(names) != len(keypoints):
        raise ValueError(f'{len(names)} file names but {len(keypoints)} keypoint rows')
    if len(set(names)) != len(names):
        raise ValueError(f'duplicate file names in the keypoints written to {path}')
    if any(not name or any(c.isspace() for c in name) for name in names):
        raise ValueError('file names must be non-empty and contain no whitespace')
    header = ' '.join(['file_name'] +
                      [f'{axis}_{i}' for i in range(NUM_KEYPOINTS) for axis in 'xy'])
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(header + '\n')
        for name, points in zip(names, keypoints):
            values = (np.format_float_positional(v, trim='-') for v in points.reshape(-1))
            f.write(name + ' ' + ' '.join(values) + '\n')  # shortest exact decimal


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('data_root', help='Taichi root directory')
    parser.add_argument('--pkl-dir', help='folder of the pickles (default: DATA_ROOT/landmark)')
    parser.add_argument('--debug', action='store_true', help='show tracebacks')
    args = parser.parse_args(argv)
    root = osp.abspath(args.data_root)
    pkl_dir = args.pkl_dir or osp.join(root, 'landmark')
    try:
        rows = []
        for split in SPLITS:
            names, keypoints = read_official_pickle(osp.join(pkl_dir, f'taichi_{split}_gt.pkl'))
            out = keypoint_table_path(root, split)
            write_keypoint_table(out, names, keypoints)
            rows.append(f'{out}: {len(names)} images (papers: {PAPER_COUNTS[split]})')
    except (FileNotFoundError, ValueError, KeyError, ImportError, OSError) as err:
        if args.debug:
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f'partseg: error: {message}', file=sys.stderr)
        return 1
    for row in rows:
        print('wrote ' + row)
    return 0


if __name__ == '__main__':
    sys.exit(main())
