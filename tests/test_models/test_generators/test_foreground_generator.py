"""ForegroundGenerator, He et al. 2022 Eq. (7)-(8), with the embedding map checked by hand."""
import pytest
import torch

from partseg.models.generators import ForegroundGenerator
from partseg.registry import MODELS


def capture_styles(gen):
    """Record the style map every block is conditioned on."""
    styles = []
    for block in gen.blocks:
        block.register_forward_hook(lambda m, inputs, out: styles.append(inputs[1].detach()))
    return styles


def test_embedding_map_eq7_by_hand():
    # W_fg = sum_k M_k w_k, replication-padded by the margin (official code)
    gen = MODELS.build(
        dict(
            type='ForegroundGenerator',
            num_parts=2,
            emb_dim=2,
            channels=(4, ),
            feature_map_sizes=(4, ),
            spade_hidden=2,
            margin=1))
    styles = capture_styles(gen)
    masks = torch.zeros(1, 3, 4, 4)
    masks[0, 0] = 7.0  # the background channel must not enter Eq. (7)
    masks[0, 1, :, :2] = 1.0  # part 1: left half
    masks[0, 2] = 0.5  # part 2: everywhere, half weight
    embeddings = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])  # w_1, w_2
    out = gen(masks, torch.zeros(1, 2, 2), embeddings)
    assert out.shape == (1, 2, 4, 4)  # D_emb channels, margin cropped
    style = styles[0][0]  # (2, 6, 6)
    assert style.shape == (2, 6, 6)
    # channel 0 = M_1: columns 0..2 of the padded map are 1 (pad column + the left half)
    assert style[0, 0].tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    assert torch.equal(style[0], style[0, :1].expand(6, 6))
    assert torch.equal(style[1], torch.ones(6, 6))  # 2 * 0.5


def test_masks_are_resized_to_each_block():
    # masks at 4 px, blocks at 2 and 4 px: the 2-px style is the 2x2 average (bilinear, 0.5x)
    gen = ForegroundGenerator(
        1, emb_dim=1, channels=(4, 2), feature_map_sizes=(2, 4), spade_hidden=2, margin=0)
    styles = capture_styles(gen)
    masks = torch.zeros(1, 2, 4, 4)
    masks[0, 1] = torch.arange(16.0).view(4, 4)
    gen(masks, torch.zeros(1, 1, 2), torch.ones(1, 1, 1))
    assert styles[0][0, 0].tolist() == [[2.5, 4.5], [10.5, 12.5]]
    assert torch.equal(styles[1][0, 0], masks[0, 1])


def test_start_tensor_follows_part_locations():
    torch.manual_seed(0)
    gen = ForegroundGenerator(
        2, emb_dim=4, channels=(8, 4), feature_map_sizes=(4, 8), spade_hidden=4, margin=2).eval()
    masks = torch.softmax(torch.randn(1, 3, 8, 8), 1)
    emb = torch.randn(1, 2, 4)
    locations = torch.zeros(1, 2, 2)
    a = gen(masks, locations, emb)
    b = gen(masks, locations + 0.3, emb)
    assert a.shape == (1, 4, 8, 8)
    assert not torch.allclose(a, b, atol=1e-4)


def test_bad_config():
    with pytest.raises(ValueError, match='one entry per block'):
        ForegroundGenerator(2, 4, channels=(8, ), feature_map_sizes=(4, 8))
