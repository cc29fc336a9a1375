"""LoadPartImage: RGB uint8 out, conversions with a warning, one-line errors naming the file."""
import struct
import zlib

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image

from partseg.datasets.transforms import LoadPartImage
from partseg.registry import TRANSFORMS


def _write_png16(path, arr):
    """Write (H, W, 3) or (H, W) uint16 ``arr`` as a 16-bit RGB / greyscale PNG (Pillow cannot
    write 16-bit RGB)."""
    arr = np.asarray(arr, dtype='>u2')
    h, w = arr.shape[:2]

    def chunk(tag, data):
        return (struct.pack('>I', len(data)) + tag + data +
                struct.pack('>I',
                            zlib.crc32(tag + data) & 0xffffffff))

    header = struct.pack('>IIBBBBB', w, h, 16, 2 if arr.ndim == 3 else 0, 0, 0, 0)
    rows = b''.join(b'\x00' + arr[i].tobytes() for i in range(h))  # filter type 0 per row
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) +
                     chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))


def _rgb(h=16, w=20):
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[..., 0] = 200  # red channel first: RGB, not BGR
    img[:, :5, 2] = 90
    img[0, 0] = (1, 2, 3)
    return img


def _load(path, **kwargs):
    return LoadPartImage(**kwargs)(dict(img_path=str(path)))


def test_rgb_png_and_jpeg_load_as_rgb_uint8(tmp_path):
    img = _rgb()
    Image.fromarray(img).save(tmp_path / 'a.png')
    out = _load(tmp_path / 'a.png')
    assert out['img'].dtype == np.uint8 and out['img'].shape == (16, 20, 3)
    np.testing.assert_array_equal(out['img'], img)
    assert out['ori_shape'] == out['img_shape'] == (16, 20)
    Image.fromarray(img).save(tmp_path / 'a.jpg', quality=95)
    loaded = _load(tmp_path / 'a.jpg')['img']
    assert loaded.shape == (16, 20, 3) and abs(int(loaded[8, 15, 0]) - 200) < 8  # red stays red
    assert loaded[8, 15, 2] < 20


def test_greyscale_alpha_and_palette_are_converted_with_a_warning(tmp_path):
    Image.fromarray(np.full((16, 16), 77, dtype=np.uint8)).save(tmp_path / 'grey.png')
    with pytest.warns(UserWarning, match=r'grey\.png: converted a L image to RGB uint8'):
        out = _load(tmp_path / 'grey.png')
    assert out['img'].shape == (16, 16, 3) and (out['img'] == 77).all()

    rgba = np.zeros((16, 16, 4), dtype=np.uint8)
    rgba[..., :3] = (10, 20, 30)
    rgba[:, 8:, 3] = 255  # left half fully transparent -> composited over white
    Image.fromarray(rgba).save(tmp_path / 'alpha.png')
    with pytest.warns(UserWarning, match=r'alpha\.png: converted a RGBA image'):
        img = _load(tmp_path / 'alpha.png')['img']
    assert (img[:, :8] == 255).all() and (img[:, 8:] == (10, 20, 30)).all()

    palette = Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16) % 2, mode='L')
    palette = palette.convert('P')
    palette.putpalette([0, 0, 255, 255, 0, 0] + [0] * 762)
    palette.save(tmp_path / 'palette.png')
    with pytest.warns(UserWarning, match='converted a P image'):
        img = _load(tmp_path / 'palette.png')['img']
    assert tuple(img[0, 0]) == (0, 0, 255) and tuple(img[0, 1]) == (255, 0, 0)


def test_16_bit_png_is_scaled_to_8_bit_with_a_warning(tmp_path):
    grey = np.array([[0, 255, 257 * 128, 65535]] * 16, dtype=np.uint16)  # (16, 4)
    grey = np.repeat(grey, 4, axis=1)  # (16, 16)
    Image.fromarray(grey).save(tmp_path / 'grey16.png')  # Pillow writes I;16 as 16-bit grey
    with pytest.warns(UserWarning, match=r'grey16\.png: converted a I;16 image'):
        img = _load(tmp_path / 'grey16.png')['img']
    # v / 65535 * 255, rounded: a dark 16-bit value 255 is 1, not white
    np.testing.assert_array_equal(img[0, ::4, 0], [0, 1, 128, 255])
    assert (img[..., 0] == img[..., 2]).all()
    # a wholly dark 16-bit image stays dark (its maximum does not decide the bit depth)
    Image.fromarray(np.full((16, 16), 255, dtype=np.uint16)).save(tmp_path / 'dark16.png')
    with pytest.warns(UserWarning, match='dark16'):
        assert (_load(tmp_path / 'dark16.png')['img'] == 1).all()

    rgb = np.zeros((16, 16, 3), dtype=np.uint16)
    rgb[..., 0], rgb[..., 1] = 65535, 257 * 100
    _write_png16(tmp_path / 'rgb16.png', rgb)
    with pytest.warns(UserWarning, match=r'rgb16\.png: converted a 16-bit RGB image'):
        img = _load(tmp_path / 'rgb16.png')['img']
    assert tuple(img[3, 3]) == (255, 100, 0)


def test_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(_rgb(16, 24)).save(tmp_path / 'photo.jpg', exif=exif)
    assert _load(tmp_path / 'photo.jpg')['img'].shape == (24, 16, 3)
    assert _load(tmp_path / 'photo.jpg', apply_exif_orientation=False)['img'].shape == (16, 24, 3)


def _bad_files(tmp_path):
    (tmp_path / 'empty.png').write_bytes(b'')
    (tmp_path / 'text.png').write_text('not an image')
    Image.fromarray(_rgb()).save(tmp_path / 'whole.png')
    data = (tmp_path / 'whole.png').read_bytes()
    (tmp_path / 'truncated.png').write_bytes(data[:len(data) // 2])
    Image.fromarray(_rgb()).save(tmp_path / 'whole.jpg')
    data = (tmp_path / 'whole.jpg').read_bytes()
    (tmp_path / 'truncated.jpg').write_bytes(data[:len(data) // 2])
    (tmp_path / 'folder.png').mkdir()


@pytest.mark.parametrize('name, error, reason', [
    ('empty.png', ValueError, 'empty file'),
    ('text.png', ValueError, 'not a readable image'),
    ('truncated.png', ValueError, 'cannot read image .*truncated'),
    ('truncated.jpg', ValueError, 'cannot read image'),
    ('folder.png', ValueError, 'it is a directory'),
    ('missing.png', FileNotFoundError, 'image file not found'),
])
def test_unreadable_files_raise_one_line_errors_naming_the_file(tmp_path, name, error, reason):
    _bad_files(tmp_path)
    path = tmp_path / name
    with pytest.raises(error, match=reason) as info:
        _load(path)
    message = str(info.value)
    assert str(path) in message and '\n' not in message
    assert info.value.__cause__ is None  # no chained traceback behind the one line


def test_in_memory_image_and_bad_results(tmp_path):
    img = _rgb()
    out = LoadPartImage()(dict(img=img))
    assert out['img'] is img and out['img_shape'] == (16, 20)
    with pytest.raises(ValueError, match=r"'img' of results\[\"img\"\] must be an \(H, W, 3\)"):
        LoadPartImage()(dict(img=img.astype(np.float32)))
    with pytest.raises(KeyError, match="needs 'img_path' or 'img'"):
        LoadPartImage()(dict())


def test_images_below_min_size_are_rejected_naming_the_file(tmp_path):
    Image.fromarray(_rgb(8, 40)).save(tmp_path / 'small.png')
    with pytest.raises(
            ValueError, match=r'small\.png is 40x8 pixels \(W x H\), smaller than '
            'min_size=16'):
        _load(tmp_path / 'small.png')
    assert _load(tmp_path / 'small.png', min_size=8)['img'].shape == (8, 40, 3)
    with pytest.raises(ValueError, match='min_size must be a positive integer'):
        LoadPartImage(min_size=0)


def test_build_from_registry(tmp_path):
    DefaultScope._instance_dict.clear()
    try:
        DefaultScope.get_instance('test_load_part_image', scope_name='partseg')
        transform = TRANSFORMS.build(dict(type='LoadPartImage', min_size=4))
    finally:
        DefaultScope._instance_dict.clear()
    assert isinstance(transform, LoadPartImage) and transform.min_size == 4
    assert repr(transform) == 'LoadPartImage(min_size=4, apply_exif_orientation=True)'
