"""AppearanceSwapHook: DisPart reconstructions and appearance swaps in a grid, as in Liu et al.
2021 Fig. 5."""
import math
import random
from contextlib import contextmanager
from typing import Iterator, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from torch import Tensor, nn

from partseg.registry import HOOKS
from partseg.utils.checks import check_int
from partseg.utils.model_wrapper import unwrap
from partseg.visualization import part_palette


@contextmanager
def _kept_random_state() -> Iterator[None]:
    """Python's, numpy's and torch's (CPU) global generators are left as they were found."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        yield
    random.setstate(python_state)
    np.random.set_state(numpy_state)


@HOOKS.register_module()
class AppearanceSwapHook(Hook):
    """Every ``interval`` training iterations (and after the last), draw a grid of DisPart
    reconstructions and appearance swaps (Liu et al. 2021 Sec. 4.4, Fig. 5).

    Layout, for N images x_1 .. x_N (tiles of T x T pixels)::

        blank | x_1 .. x_N            <- shape images
        blank | part maps of x_1 .. x_N   (with ``draw_parts``)
        x_i   | swap(x_i, x_1) .. swap(x_i, x_N)   for i = 1 .. N

    Cell (i, j) is ``model.swap_appearance(x_i, x_j)``: the appearance (part features) of x_i
    rendered in the shape (part maps) of x_j, so the diagonal is the plain reconstruction of x_i.
    The part-map row blends the argmax of the part logits (upsampled to the image size, as
    ``predict`` does) into the image with opacity ``alpha``, in the colours of
    :func:`~partseg.visualization.part_palette`; the background stays untouched.

    Images: during training the first N samples of the validation dataset (a fixed set, the same
    in every grid) when the runner has a ``val_dataloader``, otherwise the first N images of the
    training batch of that iteration. After a test (``after_test=True``) the first N samples of
    the test dataset. The model draws in eval mode under ``torch.no_grad()`` and is put back in
    the mode it was in; reading the samples leaves the global random generators untouched.

    The grid goes to the runner's visualizer (``visualizer.add_image``, so every backend gets it:
    ``LocalVisBackend`` writes ``<work_dir>/<timestamp>/vis_data/vis_image/<name>_<step>.png``,
    a TensorBoard backend logs it under ``<name>``): ``appearance_swap`` at step ``iter + 1``
    during training, ``appearance_swap_test`` at step ``iter`` after a test.

    The model must provide ``swap_appearance(appearance_images, shape_images)`` returning RGB in
    [0, 1] and ``part_logits(inputs)`` (DisPart does); its data preprocessor must provide
    ``to_unit_range`` (``TPSPairPreprocessor``).

    Args:
        interval (int): training iterations between grids (> 0).
        num_images (int): N, images per side of the grid (> 0).
        draw_parts (bool): add the part-map row under the shape images.
        alpha (float): opacity of the part colours, in [0, 1].
        min_tile_size (int): tiles are enlarged (nearest neighbour, integer factor) to at least
            this many pixels.
        after_test (bool): also draw a grid of the test images after a test.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 1000,
                 num_images: int = 6,
                 draw_parts: bool = True,
                 alpha: float = 0.5,
                 min_tile_size: int = 64,
                 after_test: bool = False) -> None:
        for key, value in (('interval', interval), ('num_images', num_images), ('min_tile_size',
                                                                                min_tile_size)):
            check_int(value, key, 1, owner='AppearanceSwapHook')
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'AppearanceSwapHook: alpha must be in [0, 1], got {alpha!r}')
        self.interval = interval
        self.num_images = num_images
        self.draw_parts = bool(draw_parts)
        self.alpha = float(alpha)
        self.min_tile_size = min_tile_size
        self.draw_after_test = bool(after_test)
        self._fixed_batch: Optional[dict] = None

    @staticmethod
    def _model(runner) -> nn.Module:
        return unwrap(runner.model)

    def _check_model(self, model: nn.Module) -> None:
        missing = [
            name for name in ('swap_appearance', 'part_logits')
            if not callable(getattr(model, name, None))
        ]
        if not callable(getattr(getattr(model, 'data_preprocessor', None), 'to_unit_range', None)):
            missing.append('data_preprocessor.to_unit_range')
        if missing:
            raise TypeError(f'custom_hooks: AppearanceSwapHook needs a model with '
                            f'swap_appearance(appearance_images, shape_images) (DisPart), got '
                            f'{type(model).__name__} without {", ".join(missing)}')

    def before_train(self, runner) -> None:
        self._check_model(self._model(runner))
        val_loop = runner.val_loop
        self._fixed_batch = None if val_loop is None else self._first_samples(val_loop.dataloader)

    def before_test(self, runner) -> None:
        if self.draw_after_test:
            self._check_model(self._model(runner))

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            batch = self._fixed_batch if self._fixed_batch is not None else data_batch
            self.draw(runner, batch, 'appearance_swap', step=runner.iter + 1)

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if self.draw_after_test:
            batch = self._first_samples(runner.test_dataloader)
            self.draw(runner, batch, 'appearance_swap_test', step=runner.iter)

    def _first_samples(self, dataloader) -> dict:
        """The first ``num_images`` samples of the loader's dataset, collated by the loader."""
        dataset = dataloader.dataset
        with _kept_random_state():
            samples = [dataset[i] for i in range(min(self.num_images, len(dataset)))]
        return dataloader.collate_fn(samples)

    def draw(self, runner, data_batch: dict, name: str, step: int) -> Optional[np.ndarray]:
        """Grid of the first ``num_images`` images of ``data_batch`` to the runner's visualizer;
        returns it (None off rank 0)."""
        if not is_main_process():
            return None
        model = self._model(runner)
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                images = model.data_preprocessor(data_batch, False)['inputs']  # (B, 3, H, W)
                grid = self.render(model, images[:self.num_images])
        finally:
            model.train(was_training)
        runner.visualizer.add_image(name, grid, step=step)
        return grid

    def render(self, model: nn.Module, images: Tensor) -> np.ndarray:
        """Normalised (N, 3, H, W) images -> ((N + 1 + draw_parts)·T, (N + 1)·T, 3) uint8 grid.

        Call in eval mode under ``torch.no_grad()``.
        """
        n, _, h, w = images.shape
        appearance = images.repeat_interleave(n, dim=0)  # (N·N, 3, H, W): x_i, N times each
        shape = images.repeat(n, 1, 1, 1)  # (N·N, 3, H, W): x_1 .. x_N, N times
        swaps = model.swap_appearance(appearance, shape)  # (N·N, 3, H, W) in [0, 1]
        originals = model.data_preprocessor.to_unit_range(images).clamp(0, 1)  # (N, 3, H, W)
        swaps, originals = self._to_uint8(swaps), self._to_uint8(originals)  # (., H, W, 3)

        scale = max(1, math.ceil(self.min_tile_size / min(h, w)))
        th, tw = h * scale, w * scale
        header = 1 + int(self.draw_parts)
        canvas = np.full(((n + header) * th, (n + 1) * tw, 3), 255, dtype=np.uint8)

        def enlarge(tiles: np.ndarray) -> np.ndarray:  # (M, H, W, 3) -> (M, H·s, W·s, 3)
            return tiles.repeat(scale, axis=1).repeat(scale, axis=2)

        def row_strip(tiles: np.ndarray) -> np.ndarray:  # (M, H·s, W·s, 3) -> (H·s, M·W·s, 3)
            return np.concatenate(list(tiles), axis=1)

        big = enlarge(originals)  # (N, T, T, 3)
        canvas[:th, tw:] = row_strip(big)
        if self.draw_parts:
            canvas[th:2 * th, tw:] = row_strip(enlarge(self._overlay(model, images, originals)))
        body = enlarge(swaps).reshape(n, n, th, tw, 3)  # (i, j, T, T, 3)
        canvas[header * th:, :tw] = np.concatenate(list(big), axis=0)
        canvas[header * th:, tw:] = body.transpose(0, 2, 1, 3, 4).reshape(n * th, n * tw, 3)
        return canvas

    def _overlay(self, model: nn.Module, images: Tensor, originals: np.ndarray) -> np.ndarray:
        """Part colours (argmax of the upsampled part logits) blended into the (N, H, W, 3)
        images; the background is left as is."""
        logits = model.part_logits(images)  # (N, K+1, h, w)
        logits = F.interpolate(
            logits.float(), size=images.shape[-2:], mode='bilinear',
            align_corners=False)  # (N, K+1, H, W)
        labels = logits.argmax(1).cpu().numpy()  # (N, H, W)
        colours = part_palette(logits.shape[1] - 1)[labels].astype(np.float32)  # (N, H, W, 3)
        blend = (1 - self.alpha) * originals + self.alpha * colours
        return np.where((labels > 0)[..., None], blend, originals).round().astype(np.uint8)

    @staticmethod
    def _to_uint8(images: Tensor) -> np.ndarray:
        """(M, 3, H, W) RGB in [0, 1] -> (M, H, W, 3) uint8."""
        images = (images.detach().float().cpu() * 255).round().clamp(0, 255).to(torch.uint8)
        return images.permute(0, 2, 3, 1).numpy()
