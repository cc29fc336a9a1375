"""Procedural cartoon creatures with K semantic parts, rendered in pure numpy.

:func:`render_creature` draws one creature from a numpy ``Generator``: a template whose part k is
always the same piece (:data:`PART_NAMES`), articulated, posed and non-rigidly warped, textured
over a cluttered background, optionally occluded, with its part map, foreground mask and
landmarks. :class:`partseg.datasets.SyntheticPartsDataset` wraps it as a dataset.
"""
from typing import Dict, List, Tuple

import numpy as np

__all__ = [
    'PART_NAMES', 'part_names', 'landmark_names', 'species_hues', 'hsv_to_rgb', 'render_creature'
]

#: Semantic piece of each part label (label k is ``PART_NAMES[k - 1]``); labels past the list are
#: dorsal spikes along the back, ordered from the tail end to the head end.
PART_NAMES = ('body', 'head', 'tail', 'legs', 'ears', 'wing', 'snout', 'feet', 'horn')

# Object colours are saturated, background/clutter colours muted: (min, max) of HSV S and V.
_OBJECT_SAT, _OBJECT_VAL = (0.5, 1.0), (0.55, 1.0)
_CLUTTER_SAT, _CLUTTER_VAL = (0.0, 0.45), (0.2, 0.95)


def part_names(num_parts: int) -> Tuple[str, ...]:
    """Semantic name of labels 1..K: the template pieces, then ``spike1``, ``spike2``, ..."""
    extra = tuple(f'spike{j + 1}' for j in range(max(num_parts - len(PART_NAMES), 0)))
    return (PART_NAMES + extra)[:num_parts]


def landmark_names(num_parts: int) -> Tuple[str, ...]:
    """Names of the N landmarks: K part centres, the eyes (K >= 2), the tail tip (K >= 3)."""
    names = tuple(f'{name}_centre' for name in part_names(num_parts))
    if num_parts >= 2:
        names += ('eye_front', 'eye_back')
    if num_parts >= 3:
        names += ('tail_tip', )
    return names


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """(..., 3) HSV in [0, 1] -> (..., 3) RGB in [0, 1]."""
    h, s, v = hsv[..., 0] % 1.0, hsv[..., 1], hsv[..., 2]
    k = (np.array([5.0, 3.0, 1.0]) + h[..., None] * 6.0) % 6.0  # (..., 3)
    return v[..., None] - (v * s)[..., None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _rot(angle: np.ndarray) -> np.ndarray:
    """(...,) angles -> (..., 2, 2) rotation matrices."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def _to_local(q: np.ndarray, centre: np.ndarray, angle: np.ndarray) -> Tuple[np.ndarray, ...]:
    """Points q (M, 2) in the frames of E shapes (centre (E, 2), angle (E,)) -> x, y each (E, M)."""
    dx, dy = q[None, :, 0] - centre[:, :1], q[None, :, 1] - centre[:, 1:]
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    return c * dx + s * dy, c * dy - s * dx


def _ellipse_sdf(q: np.ndarray, centre: np.ndarray, axes: np.ndarray,
                 angle: np.ndarray) -> np.ndarray:
    """Approximate signed distance of points q (M, 2) to E ellipses -> (E, M), negative inside."""
    lx, ly = _to_local(q, centre, angle)  # (E, M) each
    ax, ay = axes[:, :1], axes[:, 1:]
    k0 = np.sqrt((lx / ax)**2 + (ly / ay)**2)
    k1 = np.sqrt((lx / ax**2)**2 + (ly / ay**2)**2)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)


def _capsule_sdf(q: np.ndarray, p0: np.ndarray, p1: np.ndarray, r0: np.ndarray,
                 r1: np.ndarray) -> np.ndarray:
    """Signed distance of points q (M, 2) to C tapered capsules p0 -> p1 -> (C, M)."""
    dx, dy = (p1 - p0)[:, :1], (p1 - p0)[:, 1:]  # (C, 1) each
    rx, ry = q[None, :, 0] - p0[:, :1], q[None, :, 1] - p0[:, 1:]  # (C, M) each
    h = np.clip((rx * dx + ry * dy) / np.maximum(dx * dx + dy * dy, 1e-9), 0, 1)
    dist = np.sqrt((rx - h * dx)**2 + (ry - h * dy)**2)
    return dist - (r0[:, None] + (r1 - r0)[:, None] * h)


def _value_noise(grid: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Smooth value noise: bilinear-smoothstep lookup of a periodic (n, n) grid at xy (M, 2)."""
    n = grid.shape[0]
    base = np.floor(xy)
    f = xy - base
    f = f * f * (3.0 - 2.0 * f)
    x0, y0 = base[:, 0].astype(int) % n, base[:, 1].astype(int) % n
    x1, y1 = (x0 + 1) % n, (y0 + 1) % n
    top = grid[y0, x0] * (1 - f[:, 0]) + grid[y0, x1] * f[:, 0]
    bottom = grid[y1, x0] * (1 - f[:, 0]) + grid[y1, x1] * f[:, 0]
    return top * (1 - f[:, 1]) + bottom * f[:, 1]


def _interp_weights(coords: np.ndarray, n: int) -> np.ndarray:
    """Smoothstep interpolation weights (L, n) of 1-D coordinates (L,) on a periodic n-cell axis."""
    base = np.floor(coords)
    f = coords - base
    f = f * f * (3.0 - 2.0 * f)
    rows = np.arange(coords.shape[0])
    weights = np.zeros((coords.shape[0], n))
    weights[rows, base.astype(int) % n] += 1 - f
    weights[rows, (base.astype(int) + 1) % n] += f
    return weights


def _grid_noise(grid: np.ndarray, size_hw: Tuple[int, int], cells: float,
                offset: np.ndarray) -> np.ndarray:
    """Image-aligned value noise (H*W,) with ``cells`` grid cells across the shorter side.

    Separable form of :func:`_value_noise` on the pixel grid: ``W_y @ grid @ W_x^T``.
    """
    h, w = size_hw
    n = grid.shape[0]
    wy = _interp_weights((np.arange(h) + 0.5) / min(h, w) * cells + offset[1], n)  # (H, n)
    wx = _interp_weights((np.arange(w) + 0.5) / min(h, w) * cells + offset[0], n)  # (W, n)
    return (wy @ grid @ wx.T).ravel()  # (H, n) @ (n, n) @ (n, W) -> (H, W) -> (HW,)


def _sample_colours(rng: np.random.Generator, n: int, sat: Tuple[float, float],
                    val: Tuple[float, float]) -> np.ndarray:
    """n random RGB colours in [0, 1] with HSV saturation / value in the given ranges."""
    hsv = np.stack([rng.random(n), rng.uniform(*sat, n), rng.uniform(*val, n)], -1)
    return hsv_to_rgb(hsv)


class _Primitives:
    """Ellipses and tapered capsules of one creature, in the object frame (x forward, y down)."""

    def __init__(self) -> None:
        self.ellipses: List[Tuple[float, ...]] = []  # cx, cy, ax, ay, angle, label, depth
        self.capsules: List[Tuple[float, ...]] = []  # x0, y0, x1, y1, r0, r1, label, depth

    def ellipse(self, centre, axes, angle, label, depth) -> None:
        self.ellipses.append((*centre, *axes, angle, label, depth))

    def capsule(self, p0, p1, r0, r1, label, depth) -> None:
        self.capsules.append((*p0, *p1, r0, r1, label, depth))

    def arrays(self) -> Tuple[np.ndarray, np.ndarray]:
        return (np.asarray(self.ellipses,
                           dtype=float).reshape(-1, 7), np.asarray(self.capsules,
                                                                   dtype=float).reshape(-1, 8))


def _creature(rng: np.random.Generator, num_parts: int) -> Tuple[np.ndarray, ...]:
    """Random articulation of the canonical template with labels 1..K.

    Returns (ellipses (E, 7), capsules (C, 8), eyes (2, 2), eye radius, tail tip (2,)), all in
    object units (the body is about 0.9 long).
    """
    prims = _Primitives()
    u = rng.uniform
    dirv = lambda a: np.array([np.cos(a), np.sin(a)])  # noqa: E731
    ab, bb = u(0.40, 0.50), u(0.24, 0.31)
    prims.ellipse((0.0, 0.0), (ab, bb), u(-0.1, 0.1), 1, 2.0)

    # Head pose first: ears, snout, horn and eyes hang off it even when drawn later.
    rh, phi = u(0.17, 0.23), u(-0.35, 0.35)
    rot_h = _rot(np.array(phi))
    head = np.array([0.75 * ab, -0.55 * bb]) + rot_h @ np.array([0.12, -0.10])
    on_head = lambda x, y: head + rot_h @ (rh * np.array([x, y]))  # noqa: E731
    eyes = np.stack([on_head(0.40, -0.22), on_head(0.02, -0.30)])
    if num_parts >= 2:
        prims.ellipse(head, (1.1 * rh, rh), phi, 2, 4.0)
        neck = np.array([0.6 * ab, -0.35 * bb])  # joins the head to the body
        prims.capsule(neck, head, 0.55 * rh, 0.6 * rh, 2, 3.9)

    t0 = np.array([-0.9 * ab, -0.2 * bb])
    psi, bend, lt = np.pi + 0.45 + u(-0.45, 0.45), u(-0.6, 0.6), u(0.35, 0.55)
    t1 = t0 + 0.55 * lt * dirv(psi)
    tip = t1 + 0.45 * lt * dirv(psi + bend)
    if num_parts >= 3:
        rt = u(0.06, 0.09)
        prims.capsule(t0, t1, rt, 0.7 * rt, 3, 1.0)
        prims.capsule(t1, tip, 0.7 * rt, 0.02, 3, 1.0)

    hips = np.stack([ab * np.array([-0.6, -0.35, 0.35, 0.6]), np.full(4, 0.45 * bb)], -1)
    leg_len = u(0.30, 0.42) * u(0.9, 1.1, 4)
    feet = hips + leg_len[:, None] * np.stack(
        [np.cos(np.pi / 2 + u(-0.35, 0.35, 4)),
         np.sin(np.pi / 2 + u(-0.35, 0.35, 4))], -1)
    leg_depth = np.array([0.9, 1.1, 0.9, 1.1])  # far legs behind near legs
    if num_parts >= 4:
        r_leg = u(0.055, 0.08)
        for hip, foot, depth in zip(hips, feet, leg_depth):
            prims.capsule(hip, foot, r_leg, 0.75 * r_leg, 4, depth)

    if num_parts >= 5:
        for base, tilt in ((on_head(-0.10, -0.70), 0.0), (on_head(-0.45, -0.55), -0.35)):
            ear_tip = base + u(1.0, 1.6) * rh * dirv(-np.pi / 2 + phi + tilt + u(-0.4, 0.2))
            prims.capsule(base, ear_tip, 0.35 * rh, 0.08 * rh, 5, 3.5)
    if num_parts >= 6:
        omega = 0.5 + u(-0.3, 0.3)
        shoulder = np.array([0.25 * ab, -0.8 * bb])
        prims.ellipse(shoulder - u(0.2, 0.26) * dirv(omega), (u(0.26, 0.34), u(0.09, 0.12)), omega,
                      6, 3.0)
    if num_parts >= 7:
        prims.ellipse(on_head(0.85, 0.25), (0.45 * rh, 0.30 * rh), phi + u(-0.2, 0.2), 7, 5.0)
    if num_parts >= 8:
        for foot, depth in zip(feet, leg_depth):
            prims.ellipse(foot + np.array([0.03, 0.0]), (0.08, 0.045), 0.0, 8, depth + 0.05)
    if num_parts >= 9:
        base = on_head(0.30, -0.75)
        prims.capsule(base, base + u(0.7, 1.0) * rh * dirv(-np.pi / 2 + phi + u(0.3, 0.7)),
                      0.22 * rh, 0.03 * rh, 9, 3.6)
    n_spikes = num_parts - len(PART_NAMES)
    if n_spikes > 0:
        t = np.linspace(-0.85 * np.pi, -0.35 * np.pi, n_spikes)
        root = np.stack([ab * np.cos(t), bb * np.sin(t)], -1)
        normal = np.stack([np.cos(t) / ab, np.sin(t) / bb], -1)
        normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
        size = min(1.0, 6.0 / n_spikes)
        spacing = 0.5 * np.pi * np.hypot(ab, bb) / max(n_spikes, 2)
        for j in range(n_spikes):
            prims.capsule(root[j] - 0.03 * normal[j], root[j] + 0.15 * size * normal[j],
                          min(0.5 * spacing, 0.05), 0.01, 10 + j, 3.2)
    ellipses, capsules = prims.arrays()
    return ellipses, capsules, eyes, 0.2 * rh, tip


def _extent(ellipses: np.ndarray, capsules: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Axis-aligned bounds (lo (2,), hi (2,)) of all primitives, in object units."""
    c, ax, ang = ellipses[:, :2], ellipses[:, 2:4], ellipses[:, 4]
    half = np.stack([
        np.hypot(ax[:, 0] * np.cos(ang), ax[:, 1] * np.sin(ang)),
        np.hypot(ax[:, 0] * np.sin(ang), ax[:, 1] * np.cos(ang))
    ], -1)
    r = np.maximum(capsules[:, 4], capsules[:, 5])[:, None]
    lo = np.concatenate([c - half, capsules[:, 0:2] - r, capsules[:, 2:4] - r])
    hi = np.concatenate([c + half, capsules[:, 0:2] + r, capsules[:, 2:4] + r])
    return lo.min(0), hi.max(0)


class _Warp:
    """Similarity pose plus a smooth sinusoidal displacement, mapping pixels <-> object units."""

    def __init__(self,
                 rng: np.random.Generator,
                 size_hw: Tuple[int, int],
                 lo: np.ndarray,
                 hi: np.ndarray,
                 scale: Tuple[float, float] = (0.75, 1.2)) -> None:
        h, w = size_hw
        extent = np.maximum(hi - lo, 1e-6)
        self.obj_centre = (lo + hi) / 2
        # object fills ~75 % of the image at scale 1
        self.ppu = rng.uniform(*scale) * 0.75 / max(extent[0] / w, extent[1] / h)
        self.theta = np.deg2rad(rng.uniform(-25.0, 25.0))
        self.img_centre = np.array([w / 2, h / 2]) + rng.uniform(-0.15, 0.15, 2) * (w, h)
        self.amp = rng.uniform(0.01, 0.035, (3, 2)) * rng.choice([-1.0, 1.0], (3, 2))
        self.freq = rng.uniform(1.5, 3.5, (3, 2)) * rng.choice([-1.0, 1.0], (3, 2))
        self.phase = rng.uniform(0, 2 * np.pi, 3)

    def _displacement(self, v: np.ndarray) -> np.ndarray:
        # (M, 2) -> (M, 3, 2) -> (M, 2); Lipschitz constant < 1, so the warp is invertible
        arg = v @ self.freq.T + self.phase  # (M, 3)
        return np.sin(arg) @ self.amp

    def to_object(self, pix: np.ndarray) -> np.ndarray:
        """Pixel coordinates (M, 2) -> object coordinates (M, 2)."""
        v = (pix - self.img_centre) @ _rot(np.array(self.theta)) / self.ppu  # R^T applied
        return v + self._displacement(v) + self.obj_centre

    def to_pixels(self, obj: np.ndarray) -> np.ndarray:
        """Object coordinates (M, 2) -> pixel coordinates (M, 2), fixed-point inverse warp."""
        target = obj - self.obj_centre
        v = target.copy()
        for _ in range(20):  # contraction <= 0.75 per step
            v = target - self._displacement(v)
        return v @ _rot(np.array(self.theta)).T * self.ppu + self.img_centre


def _sdf_and_labels(q: np.ndarray, ellipses: np.ndarray,
                    capsules: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Painter's composite of all primitives at points q (M, 2).

    Returns the label (M,) of the front-most covering primitive (0 where none), its signed
    distance (M,) and the label-wise template centres (L, 2) indexed by label - 1.
    """
    sdf = np.concatenate([
        _ellipse_sdf(q, ellipses[:, :2], ellipses[:, 2:4], ellipses[:, 4]),
        _capsule_sdf(q, capsules[:, :2], capsules[:, 2:4], capsules[:, 4], capsules[:, 5])
    ])  # (P, M)
    labels = np.concatenate([ellipses[:, 5], capsules[:, 6]]).astype(int)
    depth = np.concatenate([ellipses[:, 6], capsules[:, 7]])
    score = np.where(sdf < 0, depth[:, None], -np.inf)
    top = score.argmax(0)  # (M,)
    covered = np.isfinite(score.max(0))
    cols = np.arange(q.shape[0])
    label_map = np.where(covered, labels[top], 0)
    centres = np.concatenate([ellipses[:, :2], (capsules[:, :2] + capsules[:, 2:4]) / 2])
    n_labels = labels.max()
    counts = np.bincount(labels - 1, minlength=n_labels)
    template_centres = np.stack([
        np.bincount(labels - 1, centres[:, 0], n_labels),
        np.bincount(labels - 1, centres[:, 1], n_labels)
    ], -1) / counts[:, None]
    return label_map, sdf[top, cols], template_centres


def _background(rng: np.random.Generator,
                pix: np.ndarray,
                size_hw: Tuple[int, int],
                clutter_shapes: Tuple[int, int] = (4, 10)) -> np.ndarray:
    """Cluttered background (M, 3) in [0, 1]: gradient, value noise and random muted shapes
    (between ``clutter_shapes[0]`` and ``clutter_shapes[1]`` of them, both included)."""
    h, w = size_hw
    uv = pix / np.array([w, h])  # (M, 2) in [0, 1]
    c = _sample_colours(rng, 2, _CLUTTER_SAT, _CLUTTER_VAL)
    d = rng.normal(size=2)
    t = np.clip(0.5 + (uv - 0.5) @ (d / np.linalg.norm(d)), 0, 1)[:, None]
    img = c[0] * (1 - t) + c[1] * t
    grid = rng.random((16, 16))
    noise = (
        _grid_noise(grid, size_hw, rng.uniform(3, 8), np.zeros(2)) +
        0.5 * _grid_noise(grid, size_hw, 13.0, np.full(2, 5.0)))
    img = img * (0.75 + 0.35 * noise / 1.5)[:, None]

    n = int(rng.integers(clutter_shapes[0], clutter_shapes[1] + 1))
    if n == 0:
        return img
    # shapes: ellipses (kind 0), rotated rectangles (1), thick lines (2); all as box / capsule SDFs
    kind = rng.integers(0, 3, n)
    centre = rng.uniform(-0.1, 1.1, (n, 2))
    half = rng.uniform(0.06, 0.3, (n, 2)) * np.where(kind[:, None] == 2, [[2.0, 0.15]], 1.0)
    angle = rng.uniform(0, np.pi, n)
    lx, ly = _to_local(uv, centre, angle)  # (n, M) each
    lx, ly = np.abs(lx) / half[:, :1], np.abs(ly) / half[:, 1:]
    inside = np.where(kind[:, None] == 1, np.maximum(lx, ly) <= 1, lx**2 + ly**2 <= 1)
    top = np.where(inside, np.arange(1, n + 1)[:, None], 0).max(0)  # (M,) 0 = no shape
    sat = np.where(rng.random(n) < 0.2, 0.7, _CLUTTER_SAT[1])  # a few brighter distractors
    shape_rgb = hsv_to_rgb(
        np.stack([rng.random(n),
                  rng.uniform(0, 1, n) * sat,
                  rng.uniform(*_CLUTTER_VAL, n)], -1))
    shaded = shape_rgb[np.maximum(top - 1, 0)] * (0.85 + 0.3 * noise / 1.5)[:, None]
    alpha = rng.uniform(0.6, 1.0, n + 1)[top][:, None] * (top > 0)[:, None]
    return img * (1 - alpha) + shaded * alpha


def species_hues(num_parts: int) -> np.ndarray:
    """Base hue in [0, 1) of parts 1..K in the 'species' colour scheme: golden-ratio steps."""
    return (0.08 + np.arange(num_parts) * 0.618034) % 1.0


def _part_hues(rng: np.random.Generator, num_parts: int, colour_scheme: str,
               hue_jitter: float) -> np.ndarray:
    """Hue of each part (K,) of one instance.

    'species': part k keeps its base hue (:func:`species_hues`) up to a uniform jitter of
    +-``hue_jitter`` (a fraction of the hue circle), as a species keeps its colour pattern.
    'random': distinct hues in a random order per instance, so a part's colour says nothing about
    which part it is.
    """
    k = num_parts
    if colour_scheme == 'species':
        return (species_hues(k) + rng.uniform(-hue_jitter, hue_jitter, k)) % 1.0
    return (rng.random() + rng.permutation(k) / k + rng.uniform(-0.25, 0.25, k) / k) % 1.0


def _part_texture(rng: np.random.Generator,
                  num_parts: int,
                  q: np.ndarray,
                  labels: np.ndarray,
                  colour_scheme: str = 'species',
                  hue_jitter: float = 0.08) -> np.ndarray:
    """Per-pixel part colours (M, 3): per-part hues, each part flat/striped/noisy/graded."""
    k = num_parts
    hues = _part_hues(rng, k, colour_scheme, hue_jitter)
    base = hsv_to_rgb(
        np.stack([hues, rng.uniform(*_OBJECT_SAT, k),
                  rng.uniform(*_OBJECT_VAL, k)], -1))
    second = hsv_to_rgb(
        np.stack([
            hues + rng.uniform(-0.08, 0.08, k),
            rng.uniform(*_OBJECT_SAT, k),
            rng.uniform(0.3, 0.7, k)
        ], -1))
    kind = rng.choice(4, k, p=[0.25, 0.3, 0.25, 0.2])  # flat, stripes, noise, gradient
    angle = rng.uniform(0, np.pi, k)
    direction = np.stack([np.cos(angle), np.sin(angle)], -1)
    freq, phase = rng.uniform(18, 35, k), rng.uniform(0, 2 * np.pi, k)
    noise_scale, noise_off = rng.uniform(4, 9, k), rng.uniform(0, 16, (k, 2))
    grad_gain = rng.uniform(1.5, 3.0, k)

    idx = np.clip(labels - 1, 0, k - 1)  # (M,) gather every per-part parameter per pixel
    proj = (q * direction[idx]).sum(-1)
    stripes = np.clip(0.5 + 2.0 * np.sin(freq[idx] * proj + phase[idx]), 0, 1)
    noise = _value_noise(rng.random((16, 16)), q * noise_scale[idx, None] + noise_off[idx])
    gradient = np.clip(0.5 + grad_gain[idx] * proj - grad_gain[idx] * proj.mean(), 0, 1)
    t = np.choose(kind[idx], [np.zeros_like(proj), stripes, noise, gradient])[:, None]
    return base[idx] * (1 - t) + second[idx] * t


def _occluder(rng: np.random.Generator, pix: np.ndarray, fg: np.ndarray,
              size_hw: Tuple[int, int]) -> np.ndarray:
    """Boolean (M,) occluder over part of the object: a blob or a bar through its bounding box."""
    h, w = size_hw
    obj = pix[fg]
    lo, hi = obj.min(0), obj.max(0)
    anchor = lo + rng.uniform(0.1, 0.9, 2) * (hi - lo)
    extent = (hi - lo).max()
    if rng.random() < 0.5:  # rotated ellipse / box blob
        half = rng.uniform(0.15, 0.3, 2) * extent
        local = np.abs((pix - anchor) @ _rot(np.array(rng.uniform(0, np.pi))))
        if rng.random() < 0.5:
            return ((local / half)**2).sum(-1) <= 1
        return (local <= half).all(-1)
    width = rng.uniform(0.06, 0.14) * min(h, w)  # a bar (branch, pole) across the image
    normal = _rot(np.array(rng.uniform(0, np.pi))) @ np.array([1.0, 0.0])
    return np.abs((pix - anchor) @ normal) <= width / 2


def _blur3(img: np.ndarray) -> np.ndarray:
    """Separable [1, 4, 1] / 6 blur of an (H, W, C) image (a camera's soft edges)."""
    pad = np.pad(img, ((1, 1), (0, 0), (0, 0)), mode='edge')
    img = (pad[:-2] + 4 * pad[1:-1] + pad[2:]) / 6
    pad = np.pad(img, ((0, 0), (1, 1), (0, 0)), mode='edge')
    return (pad[:, :-2] + 4 * pad[:, 1:-1] + pad[:, 2:]) / 6


def render_creature(rng: np.random.Generator,
                    num_parts: int,
                    size_hw: Tuple[int, int],
                    occlusion_prob: float,
                    clutter_shapes: Tuple[int, int] = (4, 10),
                    object_scale: Tuple[float, float] = (0.75, 1.2),
                    colour_scheme: str = 'species',
                    hue_jitter: float = 0.08) -> Dict[str, np.ndarray]:
    """Render one creature from ``rng``: a dict of ``img`` (H, W, 3) uint8 RGB, ``gt_seg_map``
    (H, W) uint8 (0 background, 1..K), ``gt_fg_mask`` (H, W) bool, ``gt_landmarks`` (N, 2)
    float32 pixel (x, y), ``gt_landmarks_visible`` (N,) bool and ``landmark_norm`` (the object's
    bounding box (w, h), pixels); the landmarks are named by :func:`landmark_names`."""
    h, w = size_hw
    ellipses, capsules, eyes, eye_r, tail_tip = _creature(rng, num_parts)
    warp = _Warp(rng, size_hw, *_extent(ellipses, capsules), scale=object_scale)
    jj, ii = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    pix = np.stack([jj.ravel(), ii.ravel()], -1)  # (HW, 2) pixel centres (x, y)
    q = warp.to_object(pix)
    labels, sdf, template_centres = _sdf_and_labels(q, ellipses, capsules)
    fg = labels > 0

    qf, lf = q[fg], labels[fg]  # object pixels only, (F, 2) and (F,)
    colour = _part_texture(rng, num_parts, qf, lf, colour_scheme, hue_jitter)
    inner_px = np.maximum(-sdf[fg], 0) * warp.ppu  # distance to the front primitive's rim, pixels
    rim = 1 - 0.35 * np.exp(-inner_px / 1.5)
    light = 1 - 0.15 * np.clip(qf[:, 1] - warp.obj_centre[1], -1, 1)  # lit from above
    colour = colour * (rim * light)[:, None]
    if num_parts >= 2:  # eyes: white sclera, dark pupil, drawn where the head is in front
        d = np.sqrt(((qf[None] - eyes[:, None])**2).sum(-1)).min(0)  # (2, F) -> (F,)
        colour[(lf == 2) & (d < eye_r)] = 0.97
        colour[(lf == 2) & (d < 0.5 * eye_r)] = 0.05

    img = _background(rng, pix, size_hw, clutter_shapes)
    img[fg] = colour
    occluded = np.zeros_like(fg)
    if fg.any() and rng.random() < occlusion_prob:
        occluded = _occluder(rng, pix, fg, size_hw)
        occ_rgb = _sample_colours(rng, 1, _CLUTTER_SAT, _CLUTTER_VAL)[0]
        occ_noise = _grid_noise(rng.random((8, 8)), size_hw, rng.uniform(4, 10), np.zeros(2))
        img[occluded] = occ_rgb * (0.7 + 0.5 * occ_noise[occluded, None])
    visible = np.where(occluded, 0, labels)

    img = _blur3(img.reshape(h, w, 3)) * rng.uniform(0.85, 1.15)
    img = img + rng.normal(0, 0.01, img.shape)
    img = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)

    # Landmarks: centroids of each part's visible pixels (template centre when fully hidden).
    onehot = visible[None] == np.arange(1, num_parts + 1)[:, None]  # (K, HW)
    counts = onehot.sum(1)
    centroids = (onehot @ pix) / np.maximum(counts, 1)[:, None]
    extra = np.concatenate([eyes, tail_tip[None]])[:len(landmark_names(num_parts)) - num_parts]
    projected = warp.to_pixels(np.concatenate([template_centres, extra]))
    part_pts = np.where(counts[:, None] > 0, centroids, projected[:num_parts])
    extra_pts = projected[num_parts:]
    inside = ((extra_pts >= 0) & (extra_pts < (w, h))).all(-1)
    cell = np.clip(np.floor(extra_pts).astype(int), 0, (w - 1, h - 1))
    extra_vis = inside & ~occluded.reshape(h, w)[cell[:, 1], cell[:, 0]]

    obj = pix[fg]
    bbox = obj.max(0) - obj.min(0) + 1 if fg.any() else np.array([w, h], float)
    return dict(
        img=img,
        gt_seg_map=visible.reshape(h, w).astype(np.uint8),
        gt_fg_mask=(visible > 0).reshape(h, w),
        gt_landmarks=np.concatenate([part_pts, extra_pts]).astype(np.float32),
        gt_landmarks_visible=np.concatenate([counts > 0, extra_vis]),
        landmark_norm=bbox.astype(np.float32))
