"""Any folder of the user's own images, without annotations."""
import os
import os.path as osp
import warnings
from typing import Callable, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from partseg.registry import DATASETS

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.gif', '.webp', '.tif', '.tiff')


@DATASETS.register_module()
class ImageFolderDataset(BaseDataset):
    """Every image under ``data_root`` (recursively), for training or inference without labels.

    Files whose extension (case-insensitive) is in ``extensions`` are listed, sorted by their path
    relative to ``data_root``; hidden files and folders (names starting with '.') are skipped
    silently, other files with another extension are skipped with one warning that counts them
    and names a few; symbolic links to folders are followed once. Entries hold ``img_path``
    (absolute) only; pair it with ``LoadPartImage`` in the pipeline, which raises a one-line error
    naming a listed file that cannot be read. A missing ``data_root`` raises
    ``FileNotFoundError``, a folder without images ``ValueError``, both naming the folder.

    Args:
        data_root: the folder to scan.
        extensions: accepted file extensions, with the dot.
    """

    def __init__(self,
                 data_root: str,
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 metainfo: Optional[dict] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = True,
                 pipeline: List[Union[dict, Callable]] = [],
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000) -> None:
        if isinstance(extensions, str):
            extensions = (extensions, )
        self.extensions = tuple(ext.lower() if ext.startswith('.') else f'.{ext.lower()}'
                                for ext in extensions)
        super().__init__(
            data_root=str(data_root),
            metainfo=metainfo,
            indices=indices,
            serialize_data=serialize_data,
            pipeline=pipeline,
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)

    def load_data_list(self) -> List[dict]:
        root = osp.abspath(osp.expanduser(self.data_root))
        if not osp.isdir(root):
            raise FileNotFoundError(f'ImageFolderDataset: data_root folder not found: {root}')
        paths, skipped = [], []
        seen = set()
        for folder, subdirs, files in os.walk(root, followlinks=True):
            real = osp.realpath(folder)
            if real in seen:  # a symlink cycle or a folder linked twice
                subdirs[:] = []
                continue
            seen.add(real)
            subdirs[:] = [d for d in subdirs if not d.startswith('.')]
            for name in files:
                if name.startswith('.'):
                    continue
                is_image = osp.splitext(name)[1].lower() in self.extensions
                (paths if is_image else skipped).append(osp.join(folder, name))
        if not paths:
            raise ValueError(f'ImageFolderDataset: no images ({", ".join(self.extensions)}) '
                             f'found in data_root folder {root}')
        if skipped:
            examples = ', '.join(sorted(osp.relpath(path, root) for path in skipped)[:3])
            warnings.warn(f'ImageFolderDataset: skipped {len(skipped)} file(s) in {root} whose '
                          f'extension is not one of {", ".join(self.extensions)} (e.g. {examples})')
        paths.sort(key=lambda path: osp.relpath(path, root))
        return [dict(img_path=path) for path in paths]
