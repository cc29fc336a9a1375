"""GeneratedGridHook: a grid of generated images with their points and part masks, as in the
figures of generated samples of He et al. 2022 (Fig. 18-21)."""
import math
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from PIL import Image, ImageDraw
from torch import Tensor

from partseg.registry import HOOKS
from partseg.utils.checks import check_int
from partseg.utils.model_wrapper import unwrap
from partseg.visualization.palette import part_palette
from partseg.visualization.part_drawing import (MIN_TILE_SIZE, blend_parts, display_size,
                                                draw_cross, draw_dot, font_size, legend_strip,
                                                marker_radius, upsample_image, upsample_labels)


def points_to_pixels(points: Tensor, mask_grid: Tensor) -> Tensor:
    """Generator coordinates (..., 2) -> continuous pixel (col, row) of the image (centre of pixel
    (i, j) at (j + 0.5, i + 0.5)), read off the (S, S, 2) coordinates of the mask pixels."""
    x0, y0 = mask_grid[0, 0]
    step_x = mask_grid[0, 1, 0] - x0
    step_y = mask_grid[1, 0, 1] - y0
    cols = (points[..., 0] - x0) / step_x + 0.5
    rows = (points[..., 1] - y0) / step_y + 0.5
    return torch.stack((cols, rows), dim=-1)


@HOOKS.register_module()
class GeneratedGridHook(Hook):
    """Every ``interval`` training iterations, draw ``num_samples`` generated samples.

    Each sample is two tiles side by side: the generated image, and the image with its part masks
    (argmax of the K+1 masks, background left clear) blended in with ``alpha`` and its points drawn
    on top (the n_per points of part k as dots, the part location as a cross, in part k's colour
    of :func:`~partseg.visualization.part_palette`). Tiles are at least ``min_tile_size`` pixels
    (256) on a side: images upsampled bilinearly, masks by nearest neighbour, points mapped to the
    enlarged pixels. A legend under the grid names each colour. Samples use the fixed
    seeds ``seed .. seed + num_samples - 1`` (``model.generate(seeds=...)``), so successive grids
    show the same noise as training goes on. The grid goes to the runner's visualizer as image
    ``'generated_grid'`` at step ``iter + 1``; with ``LocalVisBackend`` that is
    ``<work_dir>/<timestamp>/vis_data/vis_image/generated_grid_<iter>.png``. A grid is also drawn
    after the last iteration.

    The model must provide ``generate(seeds=...)`` returning ``image`` (B, 3, S, S) in [-1, 1],
    ``masks`` (B, K+1, S, S), ``points`` (B, K, n, 2), ``part_locations`` (B, K, 2) and
    ``mask_grid`` (S, S, 2) (GANSeg does).

    Args:
        interval (int): iterations between grids (> 0).
        num_samples (int): samples in a grid.
        nrow (int): samples per grid row.
        seed (int): seed of the first sample.
        alpha (float): opacity of the part colours over the image, in [0, 1].
        min_tile_size (int): least tile side in pixels; smaller generated images are enlarged so
            their points and parts can be seen.
    """

    priority = 'LOW'
    LEGEND_NOTE = ('each pair: generated image | its part masks, points (dots) and part '
                   'locations (crosses)')

    def __init__(self,
                 interval: int = 1000,
                 num_samples: int = 16,
                 nrow: int = 4,
                 seed: int = 0,
                 alpha: float = 0.5,
                 min_tile_size: int = MIN_TILE_SIZE) -> None:
        for key, value in (('interval', interval), ('num_samples', num_samples), ('nrow', nrow),
                           ('min_tile_size', min_tile_size)):
            check_int(value, key, 1, owner='GeneratedGridHook')
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'GeneratedGridHook: alpha must be in [0, 1], got {alpha!r}')
        self.interval = interval
        self.num_samples = num_samples
        self.nrow = nrow
        self.seed = seed
        self.alpha = alpha
        self.min_tile_size = min_tile_size

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self.draw(runner)

    def draw(self, runner) -> Optional[np.ndarray]:
        """Generate, render and hand the grid to the visualizer; returns it (None off rank 0)."""
        if not is_main_process():
            return None
        model = unwrap(runner.model)
        out = model.generate(seeds=list(range(self.seed, self.seed + self.num_samples)))
        grid = self.render(out)
        runner.visualizer.add_image('generated_grid', grid, step=runner.iter + 1)
        return grid

    def render(self, out: Dict[str, Tensor]) -> np.ndarray:
        """Generator outputs -> (rows·T + legend, nrow·2·T, 3) uint8 RGB grid, T the tile size."""
        images = ((out['image'].detach().float().cpu() + 1) * 127.5).round().clamp(0, 255)
        images = images.to(torch.uint8).permute(0, 2, 3, 1).numpy()  # (B, S, S, 3)
        labels = out['masks'].detach().argmax(1).cpu().numpy()  # (B, K+1, S, S) -> (B, S, S)
        num_parts = out['masks'].shape[1] - 1
        palette = part_palette(num_parts)  # (K+1, 3)
        size = images.shape[1]
        tile = display_size(size, size, self.min_tile_size)[0]
        scale = tile / size
        grid_xy = out['mask_grid'].detach().float().cpu()
        points = points_to_pixels(out['points'].detach().float().cpu(), grid_xy) * scale
        centres = points_to_pixels(out['part_locations'].detach().float().cpu(), grid_xy) * scale

        num = images.shape[0]
        rows = math.ceil(num / self.nrow)
        canvas = np.full((rows * tile, self.nrow * 2 * tile, 3), 255, dtype=np.uint8)
        for b in range(num):
            image = upsample_image(images[b], (tile, tile))  # bilinear
            label = upsample_labels(labels[b], (tile, tile))  # nearest
            overlay = Image.fromarray(blend_parts(image, label, palette, self.alpha))
            self._draw_points(ImageDraw.Draw(overlay), points[b], centres[b], palette, tile)
            top, left = (b // self.nrow) * tile, (b % self.nrow) * 2 * tile
            canvas[top:top + tile, left:left + tile] = image
            canvas[top:top + tile, left + tile:left + 2 * tile] = np.asarray(overlay)
        legend = legend_strip(palette, canvas.shape[1], font_size(tile), [
            'each pair: generated image | its part masks, points (dots) and part locations '
            '(crosses)'
        ])
        return np.concatenate([canvas, legend])

    @staticmethod
    def _draw_points(draw: ImageDraw.ImageDraw, points: Tensor, centres: Tensor,
                     palette: np.ndarray, tile: int) -> None:
        """Dots for the (K, n, 2) points, crosses for the (K, 2) part locations, part colours."""
        radius = max(2, marker_radius(tile) // 2)
        for k in range(points.shape[0]):
            colour = palette[k + 1].tolist()
            for x, y in points[k].tolist():
                draw_dot(draw, x, y, radius, colour)
        for k in range(points.shape[0]):
            x, y = centres[k].tolist()
            draw_cross(draw, x, y, 3 * radius, palette[k + 1].tolist(), max(2, radius // 2 + 1))
