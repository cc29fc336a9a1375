"""Convert the official Tai-Chi keypoint pickles to the text tables ``TaichiDataset`` reads.

    python tools/dataset_converters/taichi.py DATA_ROOT [--pkl-dir DIR]

Reads ``taichi_train_gt.pkl`` and ``taichi_test_gt.pkl`` (pandas DataFrames with columns
``file_name`` and ``value``, an (18, 2) array of (x, y) pixels with -1 for a missing keypoint, as
shipped in ``landmarks/`` of AliaksandrSiarohin/motion-cosegmentation) from ``DATA_ROOT/landmark``
(or ``--pkl-dir``) and writes ``DATA_ROOT/landmark/taichi_{train,test}_gt.csv``: a header line,
then ``<file_name> x_0 y_0 ... x_17 y_17`` per image in the pickle's order. Reading the pickles
needs pandas (``pip install pandas``). A pickle can run code when it is loaded, so nothing is
unpickled as such: :class:`DataFrameUnpickler` admits only the globals a pandas DataFrame of
strings and numpy arrays is made of (:data:`ALLOWED_GLOBALS`) and refuses any other pickle in one
line naming the file and the global. The papers use 5,000 train and 300 test images.
"""
import argparse
import importlib
import os
import os.path as osp
import pickle
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np

from partseg.datasets.taichi import NUM_KEYPOINTS, SPLITS, keypoint_table_path

PAPER_COUNTS = {'train': 5000, 'test': 300}

# The (module, name) globals a pickled DataFrame of file names and keypoint arrays holds, under
# the module paths of pandas 0.2x (the official pickles) and of current pandas; numpy's under
# numpy 1.x and 2.x. Classes and their unpickling helpers only: none of them reads or writes files
# or runs code given to it.
ALLOWED_GLOBALS = frozenset([
    ('_codecs', 'encode'),  # bytes under protocol 2
    ('builtins', 'slice'),
    ('__builtin__', 'slice'),
    ('copyreg', '_reconstructor'),
    ('copy_reg', '_reconstructor'),
    ('builtins', 'object'),
    ('__builtin__', 'object'),
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', 'scalar'),
    ('numpy.core.numeric', '_frombuffer'),
    ('numpy._core.numeric', '_frombuffer'),
    ('pandas', 'DataFrame'),
    ('pandas', 'Index'),
    ('pandas', 'RangeIndex'),
    ('pandas', 'StringDtype'),
    ('pandas.arrays', 'StringArray'),
    ('pandas.core.frame', 'DataFrame'),
    ('pandas.core.indexes.base', '_new_Index'),
    ('pandas.core.indexes.base', 'Index'),
    ('pandas.core.indexes.range', 'RangeIndex'),
    ('pandas.core.indexes.numeric', 'Int64Index'),
    ('pandas.core.internals', 'BlockManager'),
    ('pandas.core.internals.managers', 'BlockManager'),
    ('pandas.core.internals.blocks', 'ObjectBlock'),
    ('pandas.core.internals.blocks', 'Block'),
    ('pandas._libs.internals', '_unpickle_block'),
    ('pandas._libs.arrays', '__pyx_unpickle_NDArrayBacked'),
])


class DataFrameUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :data:`ALLOWED_GLOBALS`; any other global (``os.system``,
    ``builtins.eval``, ...) raises :class:`pickle.UnpicklingError` before it is imported."""

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f'{module}.{name}')
        if module in ('__builtin__', 'copy_reg'):
            module = {'__builtin__': 'builtins', 'copy_reg': 'copyreg'}[module]
        return getattr(importlib.import_module(module), name)


def load_data_frame(path: str):
    """The DataFrame pickled in ``path``, through :class:`DataFrameUnpickler`."""
    with open(path, 'rb') as f:
        try:
            return DataFrameUnpickler(f).load()
        except pickle.UnpicklingError as error:
            raise ValueError(f'refusing to unpickle {path}: it needs the global {error}, which '
                             'is not part of a pandas DataFrame of file names and keypoints '
                             '(only the official Tai-Chi pickles are read)') from None
        except (EOFError, IndexError, TypeError, AttributeError) as error:
            raise ValueError(f'cannot read {path}: not a pandas DataFrame pickle '
                             f'({type(error).__name__}: {error})') from None


def read_official_pickle(path: str) -> Tuple[List[str], np.ndarray]:
    """(file names, (N, 18, 2) float64 keypoints) of one official pickle."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(f'reading {path} needs pandas: pip install pandas') from None
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found; download it from the landmarks/ folder of '
                                'AliaksandrSiarohin/motion-cosegmentation')
    frame = load_data_frame(path)
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f'{path} holds a {type(frame).__name__}, not a pandas DataFrame')
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
