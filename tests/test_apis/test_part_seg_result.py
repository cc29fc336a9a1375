"""PartSegResult.from_probs: labels, foreground and Eq. (8) centroids on a hand-made 2x3 map."""
import numpy as np
import torch

from partseg.apis import PartSegResult


def test_from_probs_by_hand():
    # K = 2; background wins at (0, 0), part 1 in the rest of row 0, part 2 in row 1; part 2 has
    # mass 0.3 outside row 1 too.
    probs = torch.tensor([
        [[0.8, 0.1, 0.1], [0.1, 0.1, 0.1]],  # background
        [[0.1, 0.6, 0.6], [0.0, 0.0, 0.0]],  # part 1
        [[0.1, 0.3, 0.3], [0.9, 0.9, 0.9]],  # part 2
    ])
    result = PartSegResult.from_probs(probs, 'x.png')
    np.testing.assert_array_equal(result.labels, [[0, 1, 1], [2, 2, 2]])
    np.testing.assert_array_equal(result.fg_mask, [[False, True, True], [True, True, True]])
    # part 1: pixels (col .5, 1.5, 2.5; row .5): x = (.1*.5 + .6*1.5 + .6*2.5) / 1.3, y = .5
    # part 2: x = (.1*.5 + .3*1.5 + .3*2.5 + .9*(.5+1.5+2.5)) / 3.4,
    #         y = (.7*.5 + 2.7*1.5) / 3.4
    expected = [[2.45 / 1.3, 0.5], [5.3 / 3.4, 4.4 / 3.4]]
    np.testing.assert_allclose(result.centroids, expected, rtol=1e-6)
    assert result.num_parts == 2 and result.img_path == 'x.png'
    assert result.part_probs.dtype == np.float32 and result.labels.dtype == np.int64


def test_part_without_pixels_has_nan_centroid():
    probs = torch.tensor([[[0.5, 0.5]], [[0.4, 0.4]], [[0.1, 0.1]]])  # (3, 1, 2): part 2 loses
    result = PartSegResult.from_probs(probs)
    np.testing.assert_array_equal(result.labels, [[0, 0]])
    assert np.isnan(result.centroids).all()
    assert not result.fg_mask.any()
