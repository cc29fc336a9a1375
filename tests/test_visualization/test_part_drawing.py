"""part_drawing: the size drawings are made at, upsampling, blending, legend layout."""
import numpy as np
import pytest

from partseg.visualization import part_palette
from partseg.visualization.part_drawing import (blend_parts, display_size, font_size, legend_strip,
                                                marker_radius, upsample_labels)


@pytest.mark.parametrize(
    'size, original, expected',
    [
        ((64, 64), None, (256, 256)),  # the synthetic configs: 64 px -> 256 px
        ((32, 24), None, (341, 256)),  # short side 24 -> 256, aspect kept (32 * 256 / 24)
        ((64, 64), (64, 64), (256, 256)),  # an original smaller than 256 px: still 256
        ((128, 128), (375, 500), (375, 375)),  # a crop of a 500 x 375 photo: its short side
        ((300, 400), None, (300, 400)),  # large enough: drawn as it is
        ((300, 400), (100, 100), (300, 400)),  # never smaller than the input
    ])
def test_display_size(size, original, expected):
    assert display_size(*size, original=original) == expected


def test_display_size_needs_pixels():
    with pytest.raises(ValueError, match='empty image'):
        display_size(0, 5)


def test_labels_are_never_mixed_and_blend_leaves_the_background():
    labels = np.array([[0, 1], [2, 3]])
    big = upsample_labels(labels, (4, 4))
    np.testing.assert_array_equal(big, labels.repeat(2, 0).repeat(2, 1))
    image = np.full((4, 4, 3), 100, dtype=np.uint8)
    blended = blend_parts(image, big, part_palette(3), alpha=0.5)
    assert blended[0, 0].tolist() == [100, 100, 100]
    assert blended[0, 3].tolist() == [165, 62, 88]  # (100 + (230, 25, 75)) / 2, rounded half even


def test_sizes_grow_with_the_tile_and_the_legend_wraps():
    assert (font_size(256), marker_radius(256)) == (16, 6)
    assert (font_size(64), marker_radius(64)) == (12, 3)  # floors for small tiles
    palette = part_palette(8)
    wide = legend_strip(palette, 2000, 16)
    narrow = legend_strip(palette, 300, 16)
    assert wide.shape == (8 + 24 + 8, 2000, 3)  # one row of 1.5 * 16 px between 8 px paddings
    assert narrow.shape[0] > 2 * 24 and narrow.shape[1] == 300
    assert legend_strip(palette, 2000, 16, ['dots: centroids']).shape[0] == 8 + 2 * 24 + 8
