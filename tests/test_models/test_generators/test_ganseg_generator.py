"""GANSegGenerator: outputs, the blend of Eq. (11), translation equivariance (appendix E), and the
official architecture's parameter counts."""
import math

import pytest
import torch

from partseg.models.generators import GANSegGenerator
from partseg.models.layers import margin_grid


def test_outputs(tiny_generator):
    gen = tiny_generator()
    noise = gen.sample_noise(2)
    assert set(noise) == {'z_point', 'z_app', 'z_bg', 'bg_position'}
    assert noise['bg_position'].abs().max() <= 1
    out = gen(noise)
    shapes = {key: tuple(value.shape) for key, value in out.items()}
    assert shapes == {
        'image': (2, 3, 16, 16),
        'masks': (2, 4, 16, 16),
        'heatmaps': (2, 3, 16, 16),
        'mask_grid': (16, 16, 2),
        'points': (2, 3, 4, 2),
        'part_locations': (2, 3, 2),
        'part_scales': (2, 3),
        'part_embeddings': (2, 3, 8)
    }
    assert out['image'].abs().max() <= 1  # tanh
    assert torch.allclose(out['masks'].sum(1), torch.ones(2, 16, 16), atol=1e-5)
    assert torch.equal(out['mask_grid'], margin_grid(16, 16, margin=0))
    assert gen.image_size == 16 and gen.num_parts == 3


def test_noise_keys_are_checked(tiny_generator):
    gen = tiny_generator()
    noise = gen.sample_noise(1)
    noise['z_pose'] = noise.pop('z_point')
    with pytest.raises(KeyError, match=r"missing \['z_point'\], unknown \['z_pose'\]"):
        gen(noise)


@pytest.mark.parametrize('rgb_head', ['conv3x3x2', 'conv1x1'])
def test_blend_eq11_by_hand(tiny_generator, rgb_head):
    # I = tanh(Conv(act((1 - M_bg) F + M_bg B))): with F = 1, B = -1 and Conv set to copy channel 0
    # to RGB, I = tanh(f(1 - 2 M_bg)) with f(v) = v for v >= 0 and, for v < 0, 0.2 v after one
    # LeakyReLU (official Flowers head, one 1x1 conv) or 0.04 v after two (two 3x3 convs)
    gen = tiny_generator(rgb_head=rgb_head)
    bg_values = torch.tensor([0.0, 0.25, 0.75, 1.0]).repeat_interleave(4)  # one per row
    masks = torch.zeros(1, 4, 16, 16)
    masks[0, 0] = bg_values[:, None].expand(16, 16)
    masks[0, 1] = 1 - masks[0, 0]
    gen.mask_generator.register_forward_hook(lambda m, i, out: (masks, out[1]))
    gen.foreground_generator.register_forward_hook(lambda m, i, out: torch.ones_like(out))
    gen.background_generator.register_forward_hook(lambda m, i, out: -torch.ones_like(out))
    convs = [m for m in gen.to_rgb if isinstance(m, torch.nn.Conv2d)]
    centre = convs[0].kernel_size[0] // 2
    with torch.no_grad():
        for conv in convs:
            conv.weight.zero_()
            conv.bias.zero_()
        for c in range(8 if len(convs) == 2 else 0):
            convs[0].weight[c, c, centre, centre] = 1.0
        convs[-1].weight[:, 0, centre, centre] = 1.0
    image = gen(gen.sample_noise(1))['image']
    slope = 0.04 if rgb_head == 'conv3x3x2' else 0.2
    expected_rows = [math.tanh(1.0), math.tanh(0.5), math.tanh(-0.5 * slope), math.tanh(-slope)]
    expected = torch.tensor(expected_rows).repeat_interleave(4)[:, None].expand(16, 16)
    for channel in range(3):
        assert torch.allclose(image[0, channel], expected, atol=1e-6)
    with pytest.raises(ValueError, match='rgb_head'):
        tiny_generator(rgb_head='conv5x5')


@pytest.mark.parametrize('shift_px', [(1, 0), (-1, 1)])
def test_translation_equivariance(tiny_generator, spread_parts, shift_px):
    # Acceptance test (appendix E): move every point (and the background position) by one
    # first-resolution pixel = 2 image pixels; masks and heatmaps move by exactly that much, the
    # image too (away from the border, where the foreground's replicate-padded margin differs)
    gen = tiny_generator(bg_position_mode='xy')
    points, locations, scales = spread_parts()
    dx, dy = shift_px
    delta = torch.tensor([dx * 2 / 8, dy * 2 / 8])

    def place_points(offset):

        def hook(module, inputs, out):
            return {
                **out, 'points': points + offset,
                'part_locations': locations + offset,
                'part_scales': scales
            }

        return gen.point_generator.register_forward_hook(hook)

    noise = gen.sample_noise(2)
    handle = place_points(torch.zeros(2))
    base = gen(noise)
    handle.remove()
    place_points(delta)
    moved = gen({**noise, 'bg_position': noise['bg_position'] + delta})

    sx, sy = 2 * dx, 2 * dy
    rows = slice(max(sy, 0), 16 + min(sy, 0))
    cols = slice(max(sx, 0), 16 + min(sx, 0))
    for key in ('masks', 'heatmaps'):
        shifted = torch.roll(base[key], (sy, sx), (-2, -1))
        assert torch.allclose(moved[key][..., rows, cols], shifted[..., rows, cols], atol=1e-5)
    image_error = (moved['image'] - torch.roll(base['image'], (sy, sx), (-2, -1))).abs()
    assert image_error[..., 4:-4, 4:-4].max() < 1e-3
    assert (moved['masks'] - base['masks']).abs().max() > 1e-2  # they did move


def count(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def test_official_parameter_counts():
    # He et al.'s official architecture, counted on their code: celeba_wild_k8 17,793,225 and
    # cub_k8 23,221,833 generator parameters. Built on the meta device: no memory, no time.
    official = dict(point_mlp_layers=5, app_mlp_layers=4, bg_mlp_layers=4)
    with torch.device('meta'):
        celeba = GANSegGenerator(8, **official)
        cub = GANSegGenerator(
            8,
            feature_map_sizes=(32, 32, 64, 64, 128, 128),
            mask_channels=(512, 64, 64, 64, 64, 64),
            fg_channels=(512, 256, 256, 128, 128, 64),
            bg_channels=(512, 256, 256, 128, 128, 64),
            **official)
    assert count(celeba) == 17_793_225
    assert count(cub) == 23_221_833
    # Flowers: the official single_final head, one 1x1 conv 64 -> 3 (195) instead of 38,659
    with torch.device('meta'):
        flowers = GANSegGenerator(
            8,
            feature_map_sizes=(32, 32, 64, 64, 128, 128),
            mask_channels=(512, 64, 64, 64, 64, 64),
            fg_channels=(512, 256, 256, 128, 128, 64),
            bg_channels=(512, 256, 256, 128, 128, 64),
            rgb_head='conv1x1',
            **official)
    assert count(flowers) == 23_221_833 - 38_659 + 195
    assert celeba.image_size == cub.image_size == 128
