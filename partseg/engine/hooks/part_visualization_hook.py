"""PartVisualizationHook: draws part predictions of validation, test and (optionally) training."""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.visualization import Visualizer

from partseg.registry import HOOKS
from partseg.utils.checks import check_int
from partseg.visualization import PartVisualizer


@HOOKS.register_module()
class PartVisualizationHook(Hook):
    """Draws the first ``num_images`` samples of every evaluation with :class:`PartVisualizer`.

    Without ``show_dir`` the drawings go through the visualizer's backends (with
    ``LocalVisBackend``: ``<work_dir>/<timestamp>/vis_data/vis_image/<name>_<step>.png``). With
    ``show_dir`` (``tools/test.py --show-dir``) they are written as PNG files into ``show_dir``, a
    path relative to the runner's ``work_dir`` unless absolute:
    ``<show_dir>/test_<n>_<image stem>.png`` at test time and
    ``<show_dir>/{val,train}_<n>_<image stem>_<iteration>.png`` otherwise, where ``<n>`` (4 digits)
    counts the samples drawn in this evaluation and ``_<image stem>`` is left out for in-memory
    images. Each drawing is [image | parts | part map | GT parts] at the original image's size, at
    least 256 px on the short side (:class:`PartVisualizer` upsamples smaller model inputs), with
    a legend. With ``interval > 0`` the hook also predicts and draws the current training batch
    every ``interval`` iterations (model in eval mode, no gradients).

    Args:
        num_images (int, optional): samples drawn per evaluation (and per training drawing);
            ``None`` draws all. Defaults to 16.
        interval (int): training iterations between drawings; 0 never draws during training.
        draw_gt (bool): draw GT part maps and landmarks when the samples have them.
        draw_pred (bool): draw the predicted part overlay, label map and centroids.
        show (bool): also display each drawing (needs a GUI backend).
        wait_time (float): seconds each displayed drawing stays up.
        show_dir (str, optional): write PNGs here (relative to ``work_dir``) instead of to the
            visualizer's backends.
    """

    priority = 'NORMAL'

    def __init__(self,
                 num_images: Optional[int] = 16,
                 interval: int = 0,
                 draw_gt: bool = True,
                 draw_pred: bool = True,
                 show: bool = False,
                 wait_time: float = 0.,
                 show_dir: Optional[str] = None) -> None:
        if num_images is not None:
            check_int(num_images, 'num_images', 0, owner='PartVisualizationHook', hint='or None')
        check_int(interval, 'interval', 0, owner='PartVisualizationHook')
        self.num_images = num_images
        self.interval = interval
        self.draw_gt = draw_gt
        self.draw_pred = draw_pred
        self.show = show
        self.wait_time = wait_time
        self.show_dir = show_dir
        self._out_dir = show_dir
        self._drawn = 0

    def before_run(self, runner) -> None:
        visualizer = Visualizer.get_current_instance()
        if not isinstance(visualizer, PartVisualizer):
            raise TypeError('default_hooks.visualization (PartVisualizationHook) needs '
                            "visualizer=dict(type='PartVisualizer', ...) in the config, got "
                            f'{type(visualizer).__name__}')
        if self.show_dir is not None:
            self._out_dir = osp.join(runner.work_dir, osp.expanduser(self.show_dir))

    def before_val_epoch(self, runner) -> None:
        self._drawn = 0

    def before_test_epoch(self, runner) -> None:
        self._drawn = 0

    def after_val_iter(self,
                       runner,
                       batch_idx: int,
                       data_batch: dict = None,
                       outputs: Optional[Sequence] = None) -> None:
        self._draw_batch(data_batch, outputs, 'val', step=runner.iter)

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: dict = None,
                        outputs: Optional[Sequence] = None) -> None:
        self._draw_batch(data_batch, outputs, 'test', step=0)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: dict = None,
                         outputs: Optional[dict] = None) -> None:
        if self.interval == 0 or not self.every_n_train_iters(runner, self.interval):
            return
        if not is_main_process():
            return
        model = runner.model
        was_training = model.training
        model.eval()
        with torch.no_grad():
            samples = model.val_step(data_batch)
        model.train(was_training)
        self._drawn = 0
        self._draw_batch(data_batch, samples, 'train', step=runner.iter + 1)

    def _draw_batch(self, data_batch: dict, samples: Sequence, mode: str, step: int) -> None:
        if not is_main_process() or not samples:
            return
        visualizer = Visualizer.get_current_instance()
        for image, sample in zip(data_batch['inputs'], samples):
            if self.num_images is not None and self._drawn >= self.num_images:
                return
            img_path = sample.metainfo.get('img_path')
            name = f'{mode}_{self._drawn:04d}'
            if img_path:
                name += '_' + osp.splitext(osp.basename(img_path))[0]
            out_file = None
            if self._out_dir is not None:
                file_name = f'{name}.png' if mode == 'test' else f'{name}_{step}.png'
                out_file = osp.join(self._out_dir, file_name)
            visualizer.add_datasample(
                name,
                self._to_rgb_array(image),
                sample,
                draw_gt=self.draw_gt,
                draw_pred=self.draw_pred,
                show=self.show,
                wait_time=self.wait_time,
                out_file=out_file,
                step=step)
            self._drawn += 1

    @staticmethod
    def _to_rgb_array(image: torch.Tensor) -> np.ndarray:
        """(3, H, W) RGB tensor as loaded (uint8) -> (H, W, 3) uint8 array."""
        if image.dtype != torch.uint8:
            image = image.detach().float().round().clamp(0, 255).to(torch.uint8)
        return image.detach().cpu().permute(1, 2, 0).numpy()
