"""Drawing parts at a size a person can read: tile sizes, upsampling, overlays, markers, legends.

Shared by :class:`~partseg.visualization.PartVisualizer` (``tools/test.py --show-dir``, the
visualisation hook, ``tools/infer.py``), :class:`~partseg.engine.hooks.GeneratedGridHook` and
``tools/analysis_tools/summary_figure.py``. Every function works on numpy arrays / PIL images in
pixel coordinates ``(x, y)`` with the centre of pixel ``(row, col)`` at ``(col + 0.5, row + 0.5)``.
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Short side, in pixels, below which a drawing's tiles are upsampled.
MIN_TILE_SIZE = 256

WHITE = (255, 255, 255)
BLACK = (0, 0, 0)


def display_size(height: int,
                 width: int,
                 min_short: int = MIN_TILE_SIZE,
                 original: Optional[Sequence[int]] = None) -> Tuple[int, int]:
    """(H, W) at which an (height, width) model input is drawn.

    The short side becomes the original image's short side (``original``, its (h, w), when the
    sample has one) but at least ``min_short`` and never less than the input's; the input's aspect
    ratio is kept (a crop's original may have another one).
    """
    short = min(height, width)
    if short < 1:
        raise ValueError(f'cannot draw an empty image of size {height}x{width}')
    target = max(short, min_short, min(original[:2]) if original is not None else 0)
    scale = target / short
    return max(1, round(height * scale)), max(1, round(width * scale))


def upsample_image(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """(h, w, 3) uint8 RGB -> (H, W, 3), bilinear (unchanged when the size already fits)."""
    if image.shape[:2] == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.BILINEAR))


def upsample_labels(labels: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """(h, w) integer label map -> (H, W) int64, nearest neighbour (labels are never mixed)."""
    if labels.shape == tuple(size):
        return labels.astype(np.int64)
    resized = Image.fromarray(labels.astype(np.int32)).resize((size[1], size[0]), Image.NEAREST)
    return np.asarray(resized).astype(np.int64)


def blend_parts(image: np.ndarray, labels: np.ndarray, palette: np.ndarray,
                alpha: float) -> np.ndarray:
    """Part k's colour blended into the (H, W, 3) image with opacity ``alpha`` where the (H, W)
    ``labels`` are k > 0; the background (0) is left as it is."""
    blend = image * (1 - alpha) + palette[labels].astype(np.float32) * alpha
    return np.where((labels > 0)[..., None], blend, image).round().astype(np.uint8)


def marker_radius(short_side: int) -> int:
    """Radius of a centroid dot on a tile with this short side: 6 px on a 256 px tile."""
    return max(3, round(short_side / 40))


def font_size(short_side: int) -> int:
    """Text height for a tile with this short side: 16 px on a 256 px tile, at least 12 px."""
    return max(12, round(short_side / 16))


def load_font(size: int) -> ImageFont.ImageFont:
    """Pillow's bundled scalable font at ``size`` px (its bitmap font where FreeType is
    missing); nothing is read from the system or downloaded."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # Pillow < 10.1 or built without FreeType
        return ImageFont.load_default()


def draw_dot(draw: ImageDraw.ImageDraw, x: float, y: float, radius: int, colour) -> None:
    """A filled dot in ``colour`` with a white ring, so it shows on any part colour."""
    ring = max(1, radius // 3)
    draw.ellipse((x - radius - ring, y - radius - ring, x + radius + ring, y + radius + ring),
                 fill=WHITE)
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=tuple(colour))


def draw_cross(draw: ImageDraw.ImageDraw, x: float, y: float, arm: int, colour, width: int) -> None:
    """A ``+`` of half-length ``arm`` in ``colour`` on a black outline one pixel wider per side."""
    for fill, w in ((BLACK, width + 2), (tuple(colour), width)):
        draw.line((x - arm, y, x + arm, y), fill=fill, width=w)
        draw.line((x, y - arm, x, y + arm), fill=fill, width=w)


def draw_centroids(image: Image.Image, centroids: np.ndarray, palette: np.ndarray,
                   radius: int) -> None:
    """Dots at the (K, 2) part centroids (x, y) in part k's colour ``palette[k + 1]``; NaN rows
    (parts that are absent) are skipped."""
    draw = ImageDraw.Draw(image)
    for k, (x, y) in enumerate(np.asarray(centroids, dtype=np.float64), start=1):
        if np.isfinite(x) and np.isfinite(y):
            draw_dot(draw, x, y, radius, palette[k].tolist())


def part_label(label: int) -> str:
    """Legend text of a label: ``background`` for 0, ``part k`` otherwise."""
    return 'background' if label == 0 else f'part {label}'


def legend_strip(palette: np.ndarray, width: int, size: int,
                 notes: Sequence[str] = ()) -> np.ndarray:
    """A white (h, width, 3) strip: a swatch and :func:`part_label` for every palette row, in rows
    that wrap at ``width``, then each of ``notes`` (e.g. what the markers mean) on its own line;
    text ``size`` px high."""
    font = load_font(size)
    gap, pad, row_height = size // 2, size // 2, round(size * 1.5)
    items = [(tuple(int(c) for c in colour), part_label(label))
             for label, colour in enumerate(palette)]
    positions, x, row = [], pad, 0
    for _, text in items:
        item_width = size + gap + math.ceil(font.getlength(text))
        if x > pad and x + item_width > width - pad:
            x, row = pad, row + 1
        positions.append((x, row))
        x += item_width + 2 * size
    height = 2 * pad + (row + 1 + len(notes)) * row_height
    strip = Image.new('RGB', (width, height), WHITE)
    draw = ImageDraw.Draw(strip)
    for (colour, text), (x, row) in zip(items, positions):
        top = pad + row * row_height
        draw.rectangle((x, top, x + size - 1, top + size - 1), fill=colour, outline=BLACK)
        _draw_text(draw, (x + size + gap, top + size / 2), text, font, centre_x=False)
    for i, note in enumerate(notes):
        top = pad + (row + 1 + i) * row_height
        _draw_text(draw, (pad, top + size / 2), note, font, centre_x=False)
    return np.asarray(strip).copy()


def title_strip(titles: Sequence[str], tile_width: int, size: int) -> np.ndarray:
    """A white strip with ``titles[i]`` centred over the i-th of ``len(titles)`` tiles."""
    font = load_font(size)
    height = round(size * 1.6)
    strip = Image.new('RGB', (tile_width * len(titles), height), WHITE)
    draw = ImageDraw.Draw(strip)
    for i, title in enumerate(titles):
        _draw_text(draw, (i * tile_width + tile_width / 2, height / 2), title, font, centre_x=True)
    return np.asarray(strip).copy()


def _draw_text(draw: ImageDraw.ImageDraw, xy: Tuple[float, float], text: str, font,
               centre_x: bool) -> None:
    """Black ``text`` centred vertically on ``xy[1]``, starting at (or centred on) ``xy[0]``."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = xy[0] - (left + right) / 2 if centre_x else xy[0] - left
    draw.text((x, xy[1] - (top + bottom) / 2), text, fill=BLACK, font=font)
