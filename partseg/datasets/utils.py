"""Readers shared by the real-dataset loaders: annotation tables, split lists, one-line errors.

Every function raises a built-in exception whose one-line message names the file (and the line
for a malformed annotation), so a wrong data root or a corrupt download is found at once.
"""
import hashlib
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

REGRESSION_SPLITS = ('train', 'test')


def require_file(path: str, layout: str) -> str:
    """Return ``path`` if it is a file, else FileNotFoundError naming it and the expected layout."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found; expected layout: {layout}')
    return path


def require_dir(path: str, layout: str) -> str:
    """Return ``path`` if it is a directory, else FileNotFoundError naming it and the layout."""
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path} (directory) not found; expected layout: {layout}')
    return path


def read_lines(path: str, layout: str, skip_header: int = 0) -> List[Tuple[int, str]]:
    """Non-empty lines of a text file after ``skip_header`` lines, as (1-based line number,
    text)."""
    require_file(path, layout)
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    return [(i + 1, line.strip()) for i, line in enumerate(lines)
            if i >= skip_header and line.strip()]


def parse_table(path: str,
                layout: str,
                num_values: int,
                skip_header: int = 0,
                keys: Optional[Iterable[str]] = None) -> Dict[str, np.ndarray]:
    """Parse ``<key> v1 ... vN`` lines into ``{key: float64 array (N,)}``.

    Every line must hold ``num_values`` numbers after its key, else ValueError naming file and
    line. With ``keys``, only those rows are converted (the others are still counted).
    """
    wanted = None if keys is None else set(keys)
    table: Dict[str, np.ndarray] = {}
    for lineno, line in read_lines(path, layout, skip_header):
        fields = line.split()
        if len(fields) != num_values + 1:
            raise ValueError(f'{path}:{lineno}: expected a name and {num_values} numbers, '
                             f'got {len(fields)} fields: {line!r}')
        if wanted is not None and fields[0] not in wanted:
            continue
        try:
            table[fields[0]] = np.array([float(v) for v in fields[1:]], dtype=np.float64)
        except ValueError:
            raise ValueError(f'{path}:{lineno}: non-numeric value in {line!r}') from None
    return table


def parse_int_pairs(path: str, layout: str) -> Dict[int, int]:
    """Parse ``<int> <int>`` lines (CUB's split / label files) into ``{first: second}``."""
    pairs: Dict[int, int] = {}
    for lineno, line in read_lines(path, layout):
        fields = line.split()
        try:
            if len(fields) != 2:
                raise ValueError
            pairs[int(fields[0])] = int(fields[1])
        except ValueError:
            raise ValueError(f'{path}:{lineno}: expected two integers, got {line!r}') from None
    return pairs


def read_name_list(path: str, layout: str, hint: str = '') -> List[str]:
    """First token of every non-empty line (MAFL lists, split lists, image lists).

    A missing list raises FileNotFoundError naming it, then ``hint`` (e.g. the command that
    writes it) or the expected layout.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found; ' + (hint or f'expected layout: {layout}'))
    return [line.split()[0] for _, line in read_lines(path, layout)]


def check_files_exist(paths: Sequence[str], listed_in: str) -> None:
    """FileNotFoundError naming the first missing file and the list that refers to it."""
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} not found (referred to by {listed_in})')


def check_choice(value: str, choices: Sequence[str], key: str) -> str:
    """ValueError naming ``key`` when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ValueError(f'{key} must be one of {tuple(choices)}, got {value!r}')
    return value


def check_regression_split(value: Optional[str]) -> Optional[str]:
    """``regression_split`` is None (untagged), 'train' or 'test'."""
    if value is not None:
        check_choice(value, REGRESSION_SPLITS, 'regression_split')
    return value


def interocular_norm(landmarks: np.ndarray, eye_indices: Tuple[int, int]) -> np.ndarray:
    """Inter-ocular distance of (N, 2) landmarks, repeated per axis -> (2,) float32."""
    d = float(np.linalg.norm(landmarks[eye_indices[0]] - landmarks[eye_indices[1]]))
    return np.array([d, d], dtype=np.float32)


def list_sha256(names: Iterable[str]) -> str:
    """sha256 of the sorted names, one per line with a final newline (= ``sha256sum`` of the list
    file written by :func:`write_name_list`)."""
    text = ''.join(f'{name}\n' for name in sorted(names))
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def write_name_list(path: str, names: Iterable[str]) -> None:
    """Write the sorted names one per line (the format :func:`read_name_list` reads)."""
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(f'{name}\n' for name in sorted(names))
