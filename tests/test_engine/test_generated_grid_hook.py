"""GeneratedGridHook: pixel mapping of generator coordinates, the rendered grid by hand, the
schedule and the PNG written through the visualizer."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.visualization import Visualizer
from PIL import Image

from partseg.engine.hooks import GeneratedGridHook
from partseg.engine.hooks.generated_grid_hook import points_to_pixels
from partseg.models.layers import margin_grid
from partseg.registry import HOOKS
from partseg.visualization import part_palette
from partseg.visualization.part_drawing import legend_strip


def legend_height(num_parts, width, size):
    return legend_strip(part_palette(num_parts), width, size,
                        [GeneratedGridHook.LEGEND_NOTE]).shape[0]


def test_points_to_pixels_by_hand():
    centres = margin_grid(4, 4, margin=0)  # x = -0.75, -0.25, 0.25, 0.75
    pts = torch.tensor([[-0.75, -0.75], [0.0, 0.25], [-1.0, 1.0]])
    assert points_to_pixels(pts, centres).tolist() == [[0.5, 0.5], [2.0, 2.5], [0.0, 4.0]]
    linspace = margin_grid(3, 3, margin=0, grid_type='linspace')  # x = -1, 0, 1
    assert points_to_pixels(torch.tensor([[-1.0, 1.0]]), linspace).tolist() == [[0.5, 2.5]]


def fake_outputs():
    """Two 2x2 samples, K = 1: sample 0 grey with part 1 on its right column, sample 1 black
    and all background; every point in the top-left corner."""
    image = torch.zeros(2, 3, 2, 2)
    image[0] = 0.0  # grey 128 after (x + 1) * 127.5
    image[1] = -1.0  # black
    masks = torch.zeros(2, 2, 2, 2)
    masks[:, 0] = 1.0
    masks[0, 0, :, 1], masks[0, 1, :, 1] = 0.0, 1.0
    corner = torch.tensor([-0.9, -0.9])
    return dict(
        image=image,
        masks=masks,
        points=corner.expand(2, 1, 4, 2).clone(),
        part_locations=corner.expand(2, 1, 2).clone(),
        mask_grid=margin_grid(2, 2, margin=0))


def test_render_by_hand():
    hook = HOOKS.build(dict(type='GeneratedGridHook', nrow=2, alpha=0.5, min_tile_size=16))
    grid = hook.render(fake_outputs())
    tile = 16  # 2 px x 8
    assert grid.shape == (tile + legend_height(1, 64, 12), 2 * 2 * tile, 3)
    assert grid.dtype == np.uint8
    grey = round(127.5)  # (0 + 1) * 127.5 rounded half to even
    part = part_palette(1)[1].astype(float)
    # sample 0: image tile, then the overlay; bottom-right pixels are far from the points
    assert grid[tile - 1, tile - 1].tolist() == [grey] * 3
    expected = np.round(0.5 * grey + 0.5 * part).tolist()
    assert grid[tile - 1, 2 * tile - 1].tolist() == expected  # part 1 blended in
    assert grid[tile - 1, tile].tolist() == [grey] * 3  # left column: background, untouched
    # the points are drawn in part 1's colour near the top-left corner of the overlay
    corner = grid[:6, tile:tile + 6].reshape(-1, 3)
    assert any(row.tolist() == part.astype(int).tolist() for row in corner)
    # sample 1 (all background, black) is the second pair of tiles
    assert grid[tile - 1, 3 * tile - 1].tolist() == [0, 0, 0]
    assert grid[tile - 1, 4 * tile - 1].tolist() == [0, 0, 0]


def test_small_images_are_drawn_at_256_px():
    """32 px samples: 256 px tiles, the image bilinear, masks nearest, points where the masks
    put them; another generator output gives another grid."""
    out = fake_outputs()
    small = torch.nn.functional.interpolate(out['masks'], size=(32, 32), mode='nearest')
    noise = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    out.update(image=noise, masks=small, mask_grid=margin_grid(32, 32, margin=0))
    hook = GeneratedGridHook(nrow=2)
    grid = hook.render(out)
    tile = 256
    assert grid.shape == (tile + legend_height(1, 4 * tile, 16), 4 * tile, 3)
    image = ((noise[0] + 1) * 127.5).round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
    bilinear = np.asarray(Image.fromarray(image).resize((tile, tile), Image.BILINEAR))
    np.testing.assert_array_equal(grid[:tile, :tile], bilinear)
    # the overlay: part 1 (right half) blended, the left half untouched away from the points
    part = part_palette(1)[1].astype(float)
    expected = np.round(0.5 * bilinear[200, 200] + 0.5 * part)
    np.testing.assert_allclose(grid[200, tile + 200], expected, atol=1)
    np.testing.assert_array_equal(grid[200, tile + 50], bilinear[200, 50])
    # the points at (-0.9, -0.9): pixel (1.6, 1.6) of 32 -> about (13, 13) of 256: a dot there
    assert (grid[8:19, tile + 8:tile + 19] == part.astype(np.uint8)).all(-1).sum() >= 20
    moved = dict(out, masks=out['masks'].flip(-1))
    assert (hook.render(moved)[:tile] != grid[:tile]).any(-1).mean() > 0.1


def test_schedule_and_png(tmp_path):
    calls = []

    class FakeModel:

        def generate(self, seeds):
            calls.append(list(seeds))
            return fake_outputs()

    visualizer = Visualizer(
        name='grid_test', vis_backends=[dict(type='LocalVisBackend')], save_dir=str(tmp_path))
    runner = SimpleNamespace(model=FakeModel(), visualizer=visualizer, iter=0, max_iters=5)
    hook = GeneratedGridHook(interval=2, num_samples=2, nrow=2, seed=7, min_tile_size=4)
    for it in range(5):
        runner.iter = it
        hook.after_train_iter(runner, it)
    assert calls == [[7, 8]] * 3  # after iterations 2, 4 and the last one (5)
    written = sorted(p.name for p in (tmp_path / 'vis_data' / 'vis_image').glob('*.png'))
    assert written == ['generated_grid_2.png', 'generated_grid_4.png', 'generated_grid_5.png']
    png_path = tmp_path / 'vis_data' / 'vis_image' / 'generated_grid_2.png'
    png = np.asarray(Image.open(png_path).convert('RGB'))
    assert png.shape == (4 + legend_height(1, 16, 12), 2 * 2 * 4, 3)


def test_bad_arguments():
    with pytest.raises(ValueError, match='interval'):
        GeneratedGridHook(interval=0)
    with pytest.raises(ValueError, match='alpha'):
        GeneratedGridHook(alpha=2.0)
