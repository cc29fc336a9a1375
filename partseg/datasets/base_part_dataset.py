"""Common base of the datasets read from the files of a public download (CelebA, CUB, ...)."""
import os.path as osp
from typing import Callable, Optional, Sequence, Union

from mmengine.dataset import BaseDataset


class BasePartDataset(BaseDataset):
    """A :class:`~mmengine.dataset.BaseDataset` over a download's own file layout.

    Subclasses set their own options (split, protocol, ...) before calling this ``__init__``,
    which loads the data list through their ``load_data_list``. ``data_root`` is made absolute
    (error messages name full paths) and no ``data_prefix`` is used: each subclass knows its
    layout.

    Args:
        data_root: the dataset's root directory.
        check_files: check every listed file exists at initialisation (read by the subclasses'
            ``load_data_list``).
        metainfo: extra meta information, merged over the class's ``METAINFO``.
        pipeline: data transforms (configs or callables).
        test_mode, lazy_init, indices, serialize_data, max_refetch: as
            :class:`~mmengine.dataset.BaseDataset`.
    """

    def __init__(self,
                 data_root: str,
                 check_files: bool = True,
                 metainfo: Optional[dict] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = True,
                 max_refetch: int = 1000) -> None:
        self.check_files = check_files
        super().__init__(
            data_root=osp.abspath(data_root),
            metainfo=metainfo,
            data_prefix=dict(),
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=lazy_init,
            indices=indices,
            serialize_data=serialize_data,
            max_refetch=max_refetch)
