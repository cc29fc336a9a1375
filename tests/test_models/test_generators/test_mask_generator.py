"""MaskGenerator, He et al. 2022 Eq. (4)-(6) on the margin grids of Eq. (12)."""
import pytest
import torch

from partseg.models.generators import MaskGenerator
from partseg.models.layers import PartHeatmaps, margin_grid
from partseg.registry import MODELS


def build_mask_generator(**overrides):
    torch.manual_seed(0)
    cfg = dict(
        type='MaskGenerator',
        num_parts=3,
        n_per=4,
        emb_dim=8,
        channels=(16, 8, 8),
        feature_map_sizes=(8, 8, 16),
        spade_hidden=8,
        heatmap_type='linear')
    return MODELS.build({**cfg, **overrides}).eval()


def test_outputs_eq6(spread_parts):
    gen = build_mask_generator()
    points, locations, scales = spread_parts()
    masks, heatmaps = gen(points, locations, scales, torch.randn(2, 3, 8))
    assert masks.shape == (2, 4, 16, 16)  # K + 1 channels at the last resolution
    assert torch.allclose(masks.sum(1), torch.ones(2, 16, 16), atol=1e-5)  # softmax
    assert (masks >= 0).all()
    # the returned heatmaps are Eq. (4) on the image grid of the masks (margin cropped)
    expected = PartHeatmaps('linear')(locations, scales, margin_grid(16, 16, margin=0))
    assert torch.allclose(heatmaps, expected, atol=1e-6)


def test_blocks_run_on_margin_grids(spread_parts):
    # Eq. (12): every block sees a (S + 2m) x (S + 2m) map, margin 10 by default
    gen = build_mask_generator()
    seen = []
    for block in gen.blocks:
        block.register_forward_hook(lambda m, i, o: seen.append((i[0].shape[-1], i[1].shape[-1])))
    gen(*spread_parts(), torch.randn(2, 3, 8))
    assert seen == [(28, 28), (28, 28), (36, 36)]


def test_embedding_map_eq4_conditions_the_blocks(spread_parts):
    # W_mask = sum_k H_k w_k: with all embeddings zero, the style map is zero and the masks no
    # longer depend on the part scales (which enter only through the heatmaps)
    gen = build_mask_generator()
    points, locations, scales = spread_parts()
    zero = torch.zeros(2, 3, 8)
    a, _ = gen(points, locations, scales, zero)
    b, _ = gen(points, locations, 2 * scales, zero)
    assert torch.allclose(a, b)
    c, _ = gen(points, locations, 2 * scales, torch.randn(2, 3, 8))
    assert not torch.allclose(a, c, atol=1e-3)


@pytest.mark.parametrize('shift_px', [(1, 0), (0, -1), (2, 1)])
def test_translation_equivariance(shift_px, spread_parts):
    # Appendix E: moving every point by an integer number of first-resolution pixels moves the
    # masks by the same amount (2 pixels per first-resolution pixel at 16 px) -- exactly, since
    # the start tensor and heatmaps depend on p - x only and the margin absorbs the padding
    gen = build_mask_generator()
    points, locations, scales = spread_parts()
    emb = torch.randn(2, 3, 8)
    dx, dy = shift_px
    delta = torch.tensor([dx * 2 / 8, dy * 2 / 8])
    base, _ = gen(points, locations, scales, emb)
    moved, _ = gen(points + delta, locations + delta, scales, emb)
    sx, sy = 2 * dx, 2 * dy
    shifted = torch.roll(base, (sy, sx), (-2, -1))
    valid = (slice(None), slice(None), slice(max(sy, 0),
                                             16 + min(sy, 0)), slice(max(sx, 0), 16 + min(sx, 0)))
    assert torch.allclose(moved[valid], shifted[valid], atol=1e-5)
    assert (moved - base).abs().max() > 1e-2  # the masks do move (1000x the tolerance)


def test_bad_config():
    with pytest.raises(ValueError, match='one entry per block'):
        MaskGenerator(3, 4, 8, channels=(16, 8), feature_map_sizes=(8, 8, 16))
    with pytest.raises(ValueError, match='feature_map_sizes'):
        MaskGenerator(3, 4, 8, channels=(16, 8), feature_map_sizes=(8, 12))
