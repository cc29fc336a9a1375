"""The part colours: one palette for every drawing of parts (overlays, label maps, grids)."""
import numpy as np

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
    """(K+1, 3) uint8 colours: row 0 the background, rows 1..K the parts.

    Part k has the same colour whatever K is, so drawings of models with different K agree.
    """
    if isinstance(num_parts, bool) or not isinstance(num_parts, (int, np.integer)) \
            or num_parts < 0:
        raise ValueError(f'num_parts must be an integer >= 0, got {num_parts!r}')
    colors = [BACKGROUND_COLOR] + list(PART_COLORS[:num_parts])
    for k in range(len(PART_COLORS), num_parts):
        hue = (k * 0.618033988749895) % 1.0
        rgb = np.clip(np.abs(((hue * 6 + np.array([0, 4, 2])) % 6) - 3) - 1, 0, 1)
        colors.append(tuple(int(c) for c in np.round(rgb * 255)))
    return np.array(colors, dtype=np.uint8)
