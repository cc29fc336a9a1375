"""The images a user hands to inference: files, folders, glob patterns and in-memory arrays."""
import glob
import os
import os.path as osp
import warnings
from pathlib import Path
from typing import List, Sequence, Tuple, Union

import numpy as np

from partseg.datasets.image_folder import IMG_EXTENSIONS

__all__ = ['ImageInput', 'is_image_file', 'expand_image_path', 'collect_image_inputs']

#: One image to segment: ``{'img_path': str}`` or ``{'img': (H, W, 3) uint8 RGB array}`` — the
#: first results dict of the pipeline (``LoadPartImage`` reads the path or checks the array).
ImageInput = dict

_GLOB_CHARS = ('*', '?', '[')


def is_image_file(path: str, extensions: Sequence[str] = IMG_EXTENSIONS) -> bool:
    """Whether ``path``'s extension (case-insensitive) is one of ``extensions``."""
    return osp.splitext(path)[1].lower() in extensions


def _split_images(paths: List[str], extensions: Sequence[str]) -> Tuple[List[str], List[str]]:
    """Regular, non-hidden files of ``paths`` -> (image files, other files), each sorted."""
    files = sorted(p for p in paths if osp.isfile(p) and not osp.basename(p).startswith('.'))
    images = [p for p in files if is_image_file(p, extensions)]
    return images, [p for p in files if p not in set(images)]


def expand_image_path(path: Union[str, Path],
                      extensions: Sequence[str] = IMG_EXTENSIONS) -> Tuple[List[str], List[str]]:
    """One image file, the images of a folder or those a glob pattern matches.

    Returns ``(image_paths, skipped)``: ``skipped`` lists the files of a folder (not recursive;
    hidden files ignored) or of a glob's matches whose extension is not an image extension. A file
    named directly is returned whatever its extension (reading it names it if it is no image).

    Raises:
        FileNotFoundError: ``path`` does not exist and, as a glob pattern, matches nothing.
        ValueError: a folder, or a pattern's matches, hold no image file.
    """
    path = osp.expanduser(str(path))
    if osp.isfile(path):
        return [path], []
    if osp.isdir(path):
        images, skipped = _split_images([osp.join(path, n) for n in os.listdir(path)], extensions)
        if not images:
            raise ValueError(f'no images ({", ".join(extensions)}) found in folder {path}')
        return images, skipped
    if any(char in path for char in _GLOB_CHARS):
        matches = glob.glob(path, recursive=True)
        if not matches:
            raise FileNotFoundError(f'no file matches the pattern {path}')
        images, skipped = _split_images(matches, extensions)
        if not images:
            raise ValueError(f'no images ({", ".join(extensions)}) among the files matching '
                             f'{path}')
        return images, skipped
    raise FileNotFoundError(f'image file or folder not found: {path}')


def _array_input(array: np.ndarray, index: int) -> ImageInput:
    if not (array.ndim == 3 and array.shape[2] == 3 and array.dtype == np.uint8):
        raise ValueError(f'images[{index}] must be an (H, W, 3) uint8 RGB array, got '
                         f'{array.dtype} {array.shape}')
    return dict(img=array)


def collect_image_inputs(images) -> Tuple[List[ImageInput], bool]:
    """Pipeline inputs for ``images`` and whether it named a single image.

    ``images``: a path (an image file, a folder or a glob pattern), an (H, W, 3) uint8 RGB array,
    or a list / tuple mixing paths and arrays. Non-image files of a folder or glob are skipped with
    a warning naming them (:func:`expand_image_path`).

    Returns ``(inputs, single)``: ``single`` is True when ``images`` is one image file or one array.
    """
    single = isinstance(images, np.ndarray) or (isinstance(images, (str, Path))
                                                and osp.isfile(osp.expanduser(str(images))))
    items = list(images) if isinstance(images, (list, tuple)) else [images]
    if not items:
        raise ValueError('images is empty: give an image path, a folder, a glob pattern or an '
                         '(H, W, 3) uint8 RGB array')
    inputs: List[ImageInput] = []
    for index, item in enumerate(items):
        if isinstance(item, np.ndarray):
            inputs.append(_array_input(item, index))
        elif isinstance(item, (str, Path)):
            paths, skipped = expand_image_path(item)
            if skipped:
                warnings.warn(f'skipped {len(skipped)} file(s) that are not images (extension not '
                              f'one of {", ".join(IMG_EXTENSIONS)}) in {item}: '
                              f'{", ".join(skipped)}')
            inputs.extend(dict(img_path=path) for path in paths)
        else:
            raise TypeError(f'images[{index}] must be a path or an (H, W, 3) uint8 RGB array, '
                            f'got {type(item).__name__}')
    return inputs, single
