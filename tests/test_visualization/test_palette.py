"""part_palette: one colour per label, the same for part k whatever K is."""
import numpy as np
import pytest

from partseg.visualization import part_palette

PALETTE = [(0, 0, 0), (230, 25, 75), (60, 180, 75), (255, 225, 25)]


def test_palette_has_k_plus_one_distinct_colours():
    np.testing.assert_array_equal(part_palette(3), PALETTE)
    many = part_palette(30)
    assert many.shape == (31, 3) and many.dtype == np.uint8
    assert len({tuple(c) for c in many}) == 31
    np.testing.assert_array_equal(many[:4], PALETTE)  # part k keeps its colour whatever K is
    with pytest.raises(ValueError, match='num_parts'):
        part_palette(-1)
