"""PartVisualizer: image, part overlay, part label map and GT parts side by side, with a legend."""
import os
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import master_only
from mmengine.visualization import Visualizer
from PIL import Image, ImageDraw

from partseg.registry import VISUALIZERS
from partseg.structures import PartDataSample
from partseg.utils.part_geometry import part_centroids
from .palette import part_palette
from .part_drawing import (MIN_TILE_SIZE, blend_parts, display_size, draw_centroids, draw_cross,
                           font_size, legend_strip, marker_radius, title_strip, upsample_image,
                           upsample_labels)


@VISUALIZERS.register_module()
class PartVisualizer(Visualizer):
    """Draws part segmentations: [image | overlay | label map | GT parts] above a colour legend.

    Each panel is drawn at a size a person can read: the original image's size when the sample
    has one (metainfo ``ori_shape``), at least ``min_tile_size`` pixels on its short side, with the
    input's aspect ratio; a smaller image is upsampled bilinearly and the label maps by nearest
    neighbour (see :func:`~partseg.visualization.part_drawing.display_size`). The overlay blends
    each predicted part's colour into the image with weight ``alpha`` (the background stays
    untouched); part centroids (Liu et al. 2021 Eq. (8), computed from ``softmax(seg_logits)``, or
    from the one-hot ``pred_sem_seg`` when there are no logits) are drawn as dots on the overlay
    and on the label map; GT landmarks, if present, as crosses on the image. A title above each
    panel says what it shows; the legend below the panels names each colour, in text about 1/16
    of the panel's short side high (16 px on a 256 px panel).

    Args:
        name, image, vis_backends, save_dir: as :class:`mmengine.visualization.Visualizer`.
        alpha (float): opacity of the part colours in the overlay, in [0, 1].
        dot_radius (int, optional): centroid dot radius in pixels of the drawing; default
            ``max(3, short side / 40)`` (6 px on a 256 px panel).
        min_tile_size (int): least short side of a panel, in pixels (default 256).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[dict]] = None,
                 save_dir: Optional[str] = None,
                 alpha: float = 0.5,
                 dot_radius: Optional[int] = None,
                 min_tile_size: int = MIN_TILE_SIZE) -> None:
        super().__init__(name=name, image=image, vis_backends=vis_backends, save_dir=save_dir)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        if dot_radius is not None and (not isinstance(dot_radius, int) or dot_radius < 1):
            raise ValueError(f'dot_radius must be a positive integer or None, got {dot_radius!r}')
        if isinstance(min_tile_size,
                      bool) or not isinstance(min_tile_size, int) or min_tile_size < 1:
            raise ValueError(f'min_tile_size must be a positive integer, got {min_tile_size!r}')
        self.alpha = alpha
        self.dot_radius = dot_radius
        self.min_tile_size = min_tile_size

    def draw_overlay(self,
                     image: np.ndarray,
                     data_sample: PartDataSample,
                     size: Optional[Tuple[int, int]] = None) -> np.ndarray:
        """The predicted parts of ``data_sample`` blended into ``image`` with their centroids, at
        ``size`` (H, W) (default: the panel size of :meth:`add_datasample`), as (H, W, 3) uint8.
        """
        image = self._check_image(image)
        if size is None:
            size = self._panel_size(image, data_sample)
        pred, logits = self._prediction(data_sample, size)
        if pred is None:
            raise ValueError('draw_overlay needs pred_sem_seg or seg_logits in the data sample')
        num_parts = self._num_parts(pred, None, logits)
        palette = part_palette(num_parts)
        overlay = Image.fromarray(
            blend_parts(upsample_image(image, size), pred, palette, self.alpha))
        draw_centroids(overlay, self._centroids(logits, pred, num_parts, size), palette,
                       self.dot_radius or marker_radius(min(size)))
        return np.asarray(overlay).copy()

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[PartDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0) -> np.ndarray:
        """Draw ``image`` (h, w, 3) RGB uint8 and the parts of ``data_sample``; return the drawing.

        The drawing goes to ``out_file`` (a PNG) when given, otherwise to every vis backend as
        ``name`` at ``step``; ``show=True`` also displays it.
        """
        image = self._check_image(image)
        h, w = image.shape[:2]
        size = self._panel_size(image, data_sample)
        pred = gt = logits = None
        if data_sample is not None:
            if draw_pred:
                pred, logits = self._prediction(data_sample, size)
            if draw_gt and 'gt_sem_seg' in data_sample:
                gt = upsample_labels(
                    self._label_map(data_sample.gt_sem_seg.data, 'gt_sem_seg'), size)

        num_parts = self._num_parts(pred, gt, logits)
        palette = part_palette(num_parts)
        radius = self.dot_radius or marker_radius(min(size))

        shown = upsample_image(image, size)
        image_panel = Image.fromarray(shown)
        landmarks = draw_gt and data_sample is not None and 'gt_landmarks' in data_sample
        if landmarks:
            scale = (size[1] / w, size[0] / h)
            self._draw_landmarks(image_panel, data_sample, radius, scale)
        panels, titles = [image_panel], ['image']
        if pred is not None:
            centroids = self._centroids(logits, pred, num_parts, size)
            for panel, title in ((blend_parts(shown, pred, palette,
                                              self.alpha), 'parts'), (palette[pred], 'part map')):
                panel = Image.fromarray(panel)
                draw_centroids(panel, centroids, palette, radius)
                panels.append(panel)
                titles.append(title)
        if gt is not None:
            panels.append(Image.fromarray(palette[gt]))
            titles.append('GT parts')

        text = font_size(min(size))
        row = np.concatenate([np.asarray(p) for p in panels], axis=1)
        notes = ['dots: part centroids'] if pred is not None else []
        if landmarks:
            notes.append('crosses: GT landmarks')
        drawn = np.concatenate([
            title_strip(titles, size[1], text), row,
            legend_strip(palette, row.shape[1], text, notes)
        ])

        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            directory = osp.dirname(osp.abspath(out_file))
            os.makedirs(directory, exist_ok=True)
            Image.fromarray(drawn).save(out_file)
        else:
            self.add_image(name, drawn, step)
        return drawn

    def _panel_size(self, image: np.ndarray,
                    data_sample: Optional[PartDataSample]) -> Tuple[int, int]:
        original = None
        if data_sample is not None and data_sample.metainfo.get('ori_shape') is not None:
            original = tuple(int(v) for v in data_sample.metainfo['ori_shape'][:2])
        return display_size(image.shape[0], image.shape[1], self.min_tile_size, original)

    def _prediction(self, data_sample: PartDataSample, size: Tuple[int, int]):
        """(label map at ``size`` or None, seg_logits as a float CPU tensor or None)."""
        pred = logits = None
        if 'pred_sem_seg' in data_sample:
            pred = self._label_map(data_sample.pred_sem_seg.data, 'pred_sem_seg')
        if 'seg_logits' in data_sample:
            logits = data_sample.seg_logits.data.detach().float().cpu()
            if pred is None:
                pred = self._label_map(logits.argmax(0, keepdim=True), 'seg_logits')
        return (None if pred is None else upsample_labels(pred, size)), logits

    @staticmethod
    def _num_parts(pred: Optional[np.ndarray], gt: Optional[np.ndarray],
                   logits: Optional[torch.Tensor]) -> int:
        num_parts = max([int(m.max()) for m in (pred, gt) if m is not None] + [0])
        if logits is not None:
            num_parts = max(num_parts, logits.shape[0] - 1)
        return num_parts

    @staticmethod
    def _check_image(image) -> np.ndarray:
        if isinstance(image, torch.Tensor):
            image = image.detach().cpu().numpy()
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
            shape = getattr(image, 'shape', None)
            raise ValueError(f'image must be an (H, W, 3) RGB array, got shape {shape}')
        if image.dtype != np.uint8:
            raise ValueError(f'image must be uint8, got {image.dtype}')
        return image

    @staticmethod
    def _label_map(data, key: str) -> np.ndarray:
        """(1, h, w) tensor/array of labels -> (h, w) int64 array."""
        labels = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else np.asarray(data)
        labels = labels.reshape(labels.shape[-2:]).astype(np.int64)
        if labels.min(initial=0) < 0:
            raise ValueError(f'{key} holds negative labels; parts are 0 (background) .. K')
        return labels

    @staticmethod
    def _centroids(logits: Optional[torch.Tensor], pred: np.ndarray, num_parts: int,
                   size: Tuple[int, int]) -> np.ndarray:
        """(K, 2) part centroids in image pixels (x, y); NaN for parts that win no pixel of
        ``pred`` (as ``tools/infer.py``'s centroids.json reports them)."""
        h, w = size
        if logits is not None:
            maps = logits.softmax(0)[None, 1:]  # (K+1, h, w) -> (1, K, h, w)
        else:
            one_hot = torch.nn.functional.one_hot(torch.from_numpy(pred), num_parts + 1)
            maps = one_hot.permute(2, 0, 1)[None, 1:].float()  # (H, W, K+1) -> (1, K, H, W)
        mass = maps.sum((2, 3))[0]  # (K,)
        centres = part_centroids(maps)[0] * torch.tensor([w, h], dtype=maps.dtype)  # (K, 2)
        present = torch.zeros(num_parts + 1, dtype=torch.bool)
        present[torch.from_numpy(np.unique(pred)).long()] = True
        centres[(mass <= 1e-6) | ~present[1:]] = float('nan')
        return centres.numpy()

    @staticmethod
    def _draw_landmarks(panel: Image.Image, data_sample: PartDataSample, radius: int,
                        scale: Tuple[float, float]) -> None:
        """White crosses at the visible GT landmarks, given in pixels of the model input."""
        points = data_sample.gt_landmarks.detach().cpu().numpy().reshape(-1, 2)
        visible = np.ones(len(points), dtype=bool)
        if 'gt_landmarks_visible' in data_sample:
            visible = data_sample.gt_landmarks_visible.detach().cpu().numpy().astype(bool)
        draw = ImageDraw.Draw(panel)
        for (x, y), seen in zip(points, visible):
            if seen:
                draw_cross(draw, x * scale[0], y * scale[1], radius * 3 // 2, (255, 255, 255),
                           max(1, radius // 3))
