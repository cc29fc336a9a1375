"""ImageFolderDataset: recursive, sorted listing of a user's images; one-line folder errors."""
import os
import warnings

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from PIL import Image

from partseg.datasets import ImageFolderDataset
from partseg.datasets.transforms import LoadPartImage, PackPartInputs, ResizeParts
from partseg.registry import DATASETS


def _image(path, value=0, size=(16, 16)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size + (3, ), value, dtype=np.uint8)).save(path)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / 'photos'
    for rel in ('b.png', 'a/c.jpg', 'a/d/e.JPEG', 'z.bmp', 'w.webp', 'v.tif', 'u.gif'):
        _image(root / rel)
    (root / 'notes.txt').write_text('not an image')
    (root / 'a' / 'labels.json').write_text('{}')
    _image(root / '.hidden.png')  # hidden files and folders are skipped silently
    _image(root / '.cache' / 'thumb.png')
    return root


def test_lists_every_image_recursively_sorted_and_absolute(folder):
    with pytest.warns(
            UserWarning,
            match=r'skipped 2 file\(s\) in .*photos whose extension is '
            r'not one of .* \(e\.g\. a/labels\.json, notes\.txt\)$'):
        ds = ImageFolderDataset(data_root=str(folder))
    rel = [os.path.relpath(ds.get_data_info(i)['img_path'], folder) for i in range(len(ds))]
    assert rel == ['a/c.jpg', 'a/d/e.JPEG', 'b.png', 'u.gif', 'v.tif', 'w.webp', 'z.bmp']
    assert all(os.path.isabs(ds.get_data_info(i)['img_path']) for i in range(len(ds)))
    assert set(ds.get_data_info(0)) == {'img_path', 'sample_idx'}


def test_extensions_can_be_restricted(folder):
    with pytest.warns(UserWarning, match=r'skipped 7 file\(s\)'):
        ds = ImageFolderDataset(data_root=folder, extensions=('png', '.JPG'))
    assert [os.path.basename(ds.get_data_info(i)['img_path'])
            for i in range(len(ds))] == ['c.jpg', 'b.png']


def test_symlinked_folders_are_followed_once(tmp_path):
    root = tmp_path / 'root'
    _image(root / 'sub' / 'x.png')
    os.symlink(root, root / 'sub' / 'loop')  # a cycle back to the root
    os.symlink(root / 'sub', root / 'again')  # the same folder under a second name
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # nothing to skip, so no warning
        ds = ImageFolderDataset(data_root=root)
    assert len(ds) == 1


def test_pipeline_loads_images_and_names_an_unreadable_one(tmp_path):
    root = tmp_path / 'mixed'
    _image(root / 'a.png', value=50, size=(20, 24))
    (root / 'b.png').write_bytes(b'')
    ds = ImageFolderDataset(
        data_root=root, pipeline=[LoadPartImage(),
                                  ResizeParts(16),
                                  PackPartInputs()])
    out = ds[0]
    assert out['inputs'].shape == (3, 16, 16) and out['inputs'].dtype == torch.uint8
    assert out['data_samples'].ori_shape == (20, 24)
    assert out['data_samples'].img_path == str(root / 'a.png')
    with pytest.raises(ValueError, match=f'cannot read image {root / "b.png"}: empty file'):
        ds[1]


def test_missing_and_empty_folders_raise_one_line_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=f'data_root folder not found: {tmp_path}/nope$'):
        ImageFolderDataset(data_root=tmp_path / 'nope')
    (tmp_path / 'empty' / 'deeper').mkdir(parents=True)
    with pytest.raises(ValueError, match=f'no images .* in data_root folder {tmp_path}/empty$'):
        ImageFolderDataset(data_root=tmp_path / 'empty')
    (tmp_path / 'empty' / 'readme.txt').write_text('hi')
    with pytest.raises(ValueError, match='no images'):
        ImageFolderDataset(data_root=tmp_path / 'empty')


def test_build_from_config(folder):
    DefaultScope._instance_dict.clear()
    try:
        DefaultScope.get_instance('test_image_folder', scope_name='partseg')
        with pytest.warns(UserWarning, match='skipped'):
            ds = DATASETS.build(
                dict(
                    type='ImageFolderDataset',
                    data_root=str(folder),
                    pipeline=[dict(type='LoadPartImage'),
                              dict(type='PackPartInputs')]))
    finally:
        DefaultScope._instance_dict.clear()
    assert len(ds) == 7 and ds[2]['inputs'].shape == (3, 16, 16)
