"""partseg.apis.image_inputs: files, folders, globs and arrays to segment."""
import numpy as np
import pytest

from partseg.apis import collect_image_inputs, expand_image_path


@pytest.fixture
def folder(tmp_path):
    for name in ('b.png', 'a.JPG', 'notes.txt', '.hidden.png'):
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'c.png').write_bytes(b'x')
    return tmp_path


def test_folder_lists_its_images_sorted_and_reports_other_files(folder):
    images, skipped = expand_image_path(folder)
    assert images == [str(folder / 'a.JPG'), str(folder / 'b.png')]  # not recursive, no hidden
    assert skipped == [str(folder / 'notes.txt')]


def test_file_and_glob(folder):
    assert expand_image_path(folder / 'notes.txt') == ([str(folder / 'notes.txt')], [])
    images, skipped = expand_image_path(str(folder / '**' / '*.png'))
    assert images == [str(folder / 'b.png'), str(folder / 'sub' / 'c.png')] and skipped == []
    images, skipped = expand_image_path(str(folder / '*'))
    assert len(images) == 2 and skipped == [str(folder / 'notes.txt')]


def test_bad_paths_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='image file or folder not found: .*nope.png'):
        expand_image_path(tmp_path / 'nope.png')
    with pytest.raises(FileNotFoundError, match=r'no file matches the pattern .*\*.webp'):
        expand_image_path(str(tmp_path / '*.webp'))
    (tmp_path / 'a.txt').write_text('x')
    with pytest.raises(ValueError, match=f'no images .* in folder {tmp_path}$'):
        expand_image_path(tmp_path)
    with pytest.raises(ValueError, match=r'no images .* among the files matching .*\*.txt'):
        expand_image_path(str(tmp_path / '*.txt'))


def test_collect_mixes_paths_and_arrays_and_says_whether_single(folder):
    array = np.zeros((20, 20, 3), np.uint8)
    inputs, single = collect_image_inputs(array)
    assert single and len(inputs) == 1 and inputs[0]['img'] is array
    inputs, single = collect_image_inputs(str(folder / 'b.png'))
    assert single and inputs == [dict(img_path=str(folder / 'b.png'))]
    with pytest.warns(UserWarning, match='notes.txt'):
        inputs, single = collect_image_inputs([array, folder])
    assert not single
    assert [list(i) for i in inputs] == [['img'], ['img_path'], ['img_path']]
    with pytest.raises(ValueError, match='images is empty'):
        collect_image_inputs([])
    with pytest.raises(
            ValueError,
            match=r'images\[0\] must be an \(H, W, 3\) uint8 RGB array, '
            r'got float32 \(20, 20, 3\)'):
        collect_image_inputs([array.astype(np.float32)])
