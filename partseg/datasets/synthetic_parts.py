"""SyntheticPartsDataset: procedural cartoon creatures with K semantic parts, partseg's
download-free default dataset (the pictures come from :mod:`.creature_renderer`)."""
import copy
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset

from partseg.registry import DATASETS
from partseg.utils.checks import check_int, check_number
from partseg.visualization.palette import part_palette
from .creature_renderer import landmark_names, part_names, render_creature

_SPLIT_CODES = {'train': 0, 'val': 1, 'test': 2}


@DATASETS.register_module()
class SyntheticPartsDataset(BaseDataset):
    """Procedural cartoon creatures with K consistent semantic parts; no download needed.

    Each sample is one creature of a single category drawn from a canonical template whose part k
    is always the same piece: 1 body, 2 head (with two eyes), 3 tail, 4 legs, 5 ears, 6 wing,
    7 snout, 8 feet, 9 horn, 10.. dorsal spikes (:data:`.creature_renderer.PART_NAMES`); a
    template with K parts holds pieces 1..K. Instances vary in articulation (head, tail, leg and
    ear angles, sizes), pose (translation up to 15 % of the image, scale 0.75-1.2, rotation up to
    25 deg, a smooth sinusoidal non-rigid warp), part colours and textures (flat, stripes, value
    noise, gradients), over cluttered muted backgrounds; with probability
    ``occlusion_prob`` an occluder (blob or bar) hides part of the object, and the GT masks and
    landmark visibility reflect it.

    Entries hold ``img`` (H, W, 3) uint8 RGB, ``gt_seg_map`` (H, W) uint8 (0 background, 1..K),
    ``gt_fg_mask`` (H, W) bool, ``gt_landmarks`` (N, 2) float32 pixel (x, y),
    ``gt_landmarks_visible`` (N,) bool, ``landmark_norm`` = object bounding box (w, h) in pixels,
    ``sample_idx``, ``instance_idx`` and, when given, ``regression_split``. The N landmarks (names
    in ``metainfo['landmark_names']``) are the K centroids of the parts' visible pixels (the
    template centre, flagged invisible, when a part is hidden), then the front and back eye centres
    (K >= 2) and the tail tip (K >= 3); an extra point is invisible when occluded or off-image.

    Samples are rendered on the fly and are a pure function of (seed, split, instance index);
    'train', 'val' and 'test' draw independent instance streams.

    Args:
        num_samples: number of instances.
        num_parts: K >= 1 (at most 255).
        image_size: int or (h, w), each at least 16 pixels.
        split: 'train', 'val' or 'test'.
        seed: non-negative base seed.
        regression_split: 'train', 'test' or None; tags every entry with it.
        occlusion_prob: probability that a sample gets an occluder.
        clutter_shapes: (min, max) number of distractor shapes (ellipses, rectangles, bars) over
            the background's gradient and noise, both included; ``(0, 0)`` leaves a smooth
            textured background.
        object_scale: (min, max) of the creature's random scale; at 1 its extent spans 75 % of
            the image's longer side. Above ~1.3 the creature may be cut by the image border.
        colour_scheme: 'species' (default): part k has its own base hue, jittered by
            +-``hue_jitter`` per instance, with random saturation, brightness and texture, as the
            members of one species (or the faces of CelebA) share a colour pattern; 'random':
            distinct hues in a random order per instance, so colour says nothing about which part
            a pixel belongs to (much harder for reconstruction-based methods).
        hue_jitter: per-instance hue jitter of the 'species' scheme, a fraction of the hue
            circle (0.08 = +-29 degrees).
        cache: memoise rendered samples in memory (per dataloader worker).
        serialize_data: as :class:`~mmengine.dataset.BaseDataset`; off by default because the
            data list holds only instance indices (serialising it buys no memory and costs a
            full ``gc.collect()`` per dataset).
    """

    def __init__(self,
                 num_samples: int = 1000,
                 num_parts: int = 4,
                 image_size: Union[int, Sequence[int]] = 64,
                 split: str = 'train',
                 seed: int = 0,
                 regression_split: Optional[str] = None,
                 occlusion_prob: float = 0.2,
                 clutter_shapes: Sequence[int] = (4, 10),
                 object_scale: Sequence[float] = (0.75, 1.2),
                 colour_scheme: str = 'species',
                 hue_jitter: float = 0.08,
                 cache: bool = False,
                 metainfo: Optional[dict] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = False,
                 pipeline: List[Union[dict, Callable]] = [],
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000) -> None:
        check_int(num_parts, 'num_parts', 1, hint='K >= 1')
        if num_parts > 255:
            raise ValueError(f'num_parts must be at most 255 (uint8 labels), got {num_parts}')
        check_int(num_samples, 'num_samples', 1)
        if isinstance(image_size, int) and not isinstance(image_size, bool):
            size_hw = (image_size, image_size)
        elif (isinstance(image_size, Sequence) and len(image_size) == 2
              and all(isinstance(s, int) and not isinstance(s, bool) for s in image_size)):
            size_hw = tuple(image_size)
        else:
            raise ValueError(f'image_size must be an int or an (h, w) pair, got {image_size!r}')
        if min(size_hw) < 16:
            raise ValueError(f'image_size must be at least 16 pixels per side, got {size_hw}')
        if split not in _SPLIT_CODES:
            raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
        if regression_split not in ('train', 'test', None):
            raise ValueError(
                f"regression_split must be 'train', 'test' or None, got {regression_split!r}")
        check_number(occlusion_prob, 'occlusion_prob', 0.0, 1.0)
        clutter = tuple(clutter_shapes) if isinstance(clutter_shapes, (list, tuple)) else ()
        if (len(clutter) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in clutter)
                or not 0 <= clutter[0] <= clutter[1]):
            raise ValueError(f'clutter_shapes must be (min, max) integers with 0 <= min <= max, '
                             f'got {clutter_shapes!r}')
        scale = tuple(object_scale) if isinstance(object_scale, (list, tuple)) else ()
        if (len(scale) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scale)
                or not 0 < scale[0] <= scale[1]):
            raise ValueError(f'object_scale must be (min, max) numbers with 0 < min <= max, '
                             f'got {object_scale!r}')
        if colour_scheme not in ('species', 'random'):
            raise ValueError(f"colour_scheme must be 'species' or 'random', got {colour_scheme!r}")
        check_number(hue_jitter, 'hue_jitter', 0.0, 0.5, hint='a fraction of the hue circle')
        check_int(seed, 'seed', 0)
        self.num_samples = num_samples
        self.num_parts = num_parts
        self.image_size = size_hw
        self.split = split
        self.seed = seed
        self.regression_split = regression_split
        self.occlusion_prob = float(occlusion_prob)
        self.clutter_shapes = clutter
        self.object_scale = (float(scale[0]), float(scale[1]))
        self.colour_scheme = colour_scheme
        self.hue_jitter = float(hue_jitter)
        self.cache = cache
        self._cache: Dict[int, Dict[str, np.ndarray]] = {}
        names = landmark_names(num_parts)
        default_meta = dict(
            classes=('background', ) + tuple(f'part{k}' for k in range(1, num_parts + 1)),
            palette=[tuple(int(c) for c in row) for row in part_palette(num_parts)],
            part_names=part_names(num_parts),
            landmark_names=names,
            # every landmark is a semantic point, so a horizontal flip keeps their order
            landmark_flip_indices=list(range(len(names))))
        default_meta.update(metainfo or {})
        super().__init__(
            metainfo=default_meta,
            indices=indices,
            serialize_data=serialize_data,
            pipeline=pipeline,
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)

    def load_data_list(self) -> List[dict]:
        """Light entries only (instance index, split tag); pixels are rendered on access."""
        tag = {} if self.regression_split is None else dict(regression_split=self.regression_split)
        return [dict(instance_idx=i, **tag) for i in range(self.num_samples)]

    def render(self, instance_idx: int) -> Dict[str, np.ndarray]:
        """Arrays of instance ``instance_idx``: a pure function of (seed, split, index)."""
        if self.cache and instance_idx in self._cache:
            return copy.deepcopy(self._cache[instance_idx])
        rng = np.random.default_rng([self.seed, _SPLIT_CODES[self.split], instance_idx])
        sample = render_creature(rng, self.num_parts, self.image_size, self.occlusion_prob,
                                 self.clutter_shapes, self.object_scale, self.colour_scheme,
                                 self.hue_jitter)
        if self.cache:
            self._cache[instance_idx] = copy.deepcopy(sample)
        return sample

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info.update(self.render(info['instance_idx']))
        return info
