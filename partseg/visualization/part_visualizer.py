"""PartVisualizer: image, part overlay, part label map and GT parts side by side, with a legend."""
import math
import os
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import master_only
from mmengine.visualization import Visualizer
from PIL import Image, ImageDraw, ImageFont

from partseg.registry import VISUALIZERS
from partseg.structures import PartDataSample
from partseg.utils.part_geometry import part_centroids

# 20 well-separated part colours (RGB); the background (label 0) is black in label maps and
# transparent in overlays. Parts beyond 20 get golden-ratio hues (see `part_palette`).
# yapf: disable
PART_COLORS = (
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
    (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
    (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128), (128, 128, 128),
)
# yapf: enable
BACKGROUND_COLOR = (0, 0, 0)


def part_palette(num_parts: int) -> np.ndarray:
    """(K+1, 3) uint8 colours: row 0 the background, rows 1..K the parts."""
    if num_parts < 0:
        raise ValueError(f'num_parts must be >= 0, got {num_parts}')
    colors = [BACKGROUND_COLOR] + list(PART_COLORS[:num_parts])
    for k in range(len(PART_COLORS), num_parts):
        hue = (k * 0.618033988749895) % 1.0
        rgb = np.clip(np.abs(((hue * 6 + np.array([0, 4, 2])) % 6) - 3) - 1, 0, 1)
        colors.append(tuple(int(c) for c in np.round(rgb * 255)))
    return np.array(colors, dtype=np.uint8)


@VISUALIZERS.register_module()
class PartVisualizer(Visualizer):
    """Draws part segmentations: [image | overlay | label map | GT parts] above a colour legend.

    The overlay blends each predicted part's colour into the image with weight ``alpha`` (the
    background stays untouched); part centroids (Liu et al. 2021 Eq. (8), computed from
    ``softmax(seg_logits)``, or from the one-hot ``pred_sem_seg`` when there are no logits) are
    drawn as dots on the overlay and on the label map; GT landmarks, if present, as crosses on the
    image. Panels are as large as the image; the legend below them is
    :meth:`legend_height` pixels high.

    Args:
        name, image, vis_backends, save_dir: as :class:`mmengine.visualization.Visualizer`.
        alpha (float): opacity of the part colours in the overlay, in [0, 1].
        dot_radius (int, optional): centroid dot radius in pixels; default
            ``max(2, min(H, W) // 40)``.
    """

    LEGEND_ITEM_WIDTH = 36  # swatch (10 px) + gap + label text ("bg", "12")
    LEGEND_ROW_HEIGHT = 14
    LEGEND_PADDING = 4

    def __init__(self,
                 name: str = 'visualizer',
                 image: Optional[np.ndarray] = None,
                 vis_backends: Optional[List[dict]] = None,
                 save_dir: Optional[str] = None,
                 alpha: float = 0.5,
                 dot_radius: Optional[int] = None) -> None:
        super().__init__(name=name, image=image, vis_backends=vis_backends, save_dir=save_dir)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        if dot_radius is not None and (not isinstance(dot_radius, int) or dot_radius < 1):
            raise ValueError(f'dot_radius must be a positive integer or None, got {dot_radius!r}')
        self.alpha = alpha
        self.dot_radius = dot_radius
        self._font = ImageFont.load_default()

    @classmethod
    def legend_height(cls, num_labels: int, width: int) -> int:
        """Height in pixels of the legend for ``num_labels`` entries (background included)."""
        per_row = max(1, width // cls.LEGEND_ITEM_WIDTH)
        rows = math.ceil(num_labels / per_row)
        return rows * cls.LEGEND_ROW_HEIGHT + 2 * cls.LEGEND_PADDING

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
        """Draw ``image`` (H, W, 3) RGB uint8 and the parts of ``data_sample``; return the drawing.

        The drawing goes to ``out_file`` (a PNG) when given, otherwise to every vis backend as
        ``name`` at ``step``; ``show=True`` also displays it.
        """
        image = self._check_image(image)
        h, w = image.shape[:2]
        pred = gt = logits = None
        if data_sample is not None:
            if draw_pred and 'pred_sem_seg' in data_sample:
                pred = self._label_map(data_sample.pred_sem_seg.data, (h, w), 'pred_sem_seg')
            if draw_pred and 'seg_logits' in data_sample:
                logits = data_sample.seg_logits.data.detach().float().cpu()
                if pred is None:
                    pred = self._label_map(logits.argmax(0, keepdim=True), (h, w), 'seg_logits')
            if draw_gt and 'gt_sem_seg' in data_sample:
                gt = self._label_map(data_sample.gt_sem_seg.data, (h, w), 'gt_sem_seg')

        num_parts = max([int(m.max()) for m in (pred, gt) if m is not None] + [0])
        if logits is not None:
            num_parts = max(num_parts, logits.shape[0] - 1)
        palette = part_palette(num_parts)
        radius = self.dot_radius or max(2, min(h, w) // 40)

        image_panel = Image.fromarray(image)
        if draw_gt and data_sample is not None and 'gt_landmarks' in data_sample:
            self._draw_landmarks(image_panel, data_sample, radius)
        panels = [image_panel]
        if pred is not None:
            centroids = self._centroids(logits, pred, num_parts, (h, w))
            colored = palette[pred]  # (H, W) -> (H, W, 3)
            fg = (pred > 0)[..., None]
            blend = image * (1 - self.alpha) + colored * self.alpha
            overlay = np.where(fg, blend, image).round().astype(np.uint8)
            for panel in (overlay, colored):
                panel = Image.fromarray(panel)
                self._draw_centroids(panel, centroids, palette, radius)
                panels.append(panel)
        if gt is not None:
            panels.append(Image.fromarray(palette[gt]))

        width = w * len(panels)
        canvas = Image.new('RGB', (width, h + self.legend_height(num_parts + 1, width)),
                           (255, 255, 255))
        for i, panel in enumerate(panels):
            canvas.paste(panel, (i * w, 0))
        self._draw_legend(canvas, palette, top=h)
        drawn = np.asarray(canvas).copy()

        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            directory = osp.dirname(osp.abspath(out_file))
            os.makedirs(directory, exist_ok=True)
            canvas.save(out_file)
        else:
            self.add_image(name, drawn, step)
        return drawn

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
    def _label_map(data, size: Tuple[int, int], key: str) -> np.ndarray:
        """(1, h, w) tensor/array of labels -> (H, W) int64 array at the image size (nearest)."""
        labels = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else np.asarray(data)
        labels = labels.reshape(labels.shape[-2:]).astype(np.int64)
        if labels.min(initial=0) < 0:
            raise ValueError(f'{key} holds negative labels; parts are 0 (background) .. K')
        if labels.shape != tuple(size):
            resized = Image.fromarray(labels.astype(np.int32)).resize((size[1], size[0]),
                                                                      Image.NEAREST)
            labels = np.asarray(resized).astype(np.int64)
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
    def _draw_centroids(panel: Image.Image, centroids: np.ndarray, palette: np.ndarray,
                        radius: int) -> None:
        draw = ImageDraw.Draw(panel)
        for k, (x, y) in enumerate(centroids, start=1):
            if np.isnan(x) or np.isnan(y):
                continue
            draw.ellipse((x - radius, y - radius, x + radius, y + radius),
                         fill=tuple(int(c) for c in palette[k]),
                         outline=(255, 255, 255))

    @staticmethod
    def _draw_landmarks(panel: Image.Image, data_sample: PartDataSample, radius: int) -> None:
        points = data_sample.gt_landmarks.detach().cpu().numpy().reshape(-1, 2)
        visible = np.ones(len(points), dtype=bool)
        if 'gt_landmarks_visible' in data_sample:
            visible = data_sample.gt_landmarks_visible.detach().cpu().numpy().astype(bool)
        draw = ImageDraw.Draw(panel)
        for (x, y), seen in zip(points, visible):
            if not seen:
                continue
            for color, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
                draw.line((x - radius, y, x + radius, y), fill=color, width=width)
                draw.line((x, y - radius, x, y + radius), fill=color, width=width)

    def _draw_legend(self, canvas: Image.Image, palette: np.ndarray, top: int) -> None:
        draw = ImageDraw.Draw(canvas)
        per_row = max(1, canvas.width // self.LEGEND_ITEM_WIDTH)
        for label, color in enumerate(palette):
            row, col = divmod(label, per_row)
            x = col * self.LEGEND_ITEM_WIDTH + self.LEGEND_PADDING
            y = top + self.LEGEND_PADDING + row * self.LEGEND_ROW_HEIGHT
            draw.rectangle((x, y + 1, x + 9, y + 10),
                           fill=tuple(int(c) for c in color),
                           outline=(0, 0, 0))
            draw.text((x + 12, y),
                      'bg' if label == 0 else str(label),
                      fill=(0, 0, 0),
                      font=self._font)
