"""Set the landmark error normaliser in the frame of the network input."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from partseg.registry import TRANSFORMS

MODES = ('interocular', 'image')


@TRANSFORMS.register_module()
class SetLandmarkNorm(BaseTransform):
    """Set ``landmark_norm`` (2,) from the current landmarks or image, after any resize.

    The landmark error of both papers is measured on the resized network input (He et al. 2022
    Sec. 4.1; the SCOPS and GANSeg evaluation code rescale the landmarks to the input first), so
    its normaliser must be measured there too. ``ResizeParts`` scales a dataset's normaliser per
    axis, which is exact for a bounding box (w, h) (Liu et al. 2021 Table 4) but not for a
    distance when the resize is anisotropic; put this transform after the resize instead.

    - ``'interocular'``: ``d = ||p[i] - p[j]||`` for ``eye_indices = (i, j)`` of the current
      ``gt_landmarks``, stored as (d, d) (CelebA/MAFL, AFLW).
    - ``'image'``: (W, H) of the current image, the "edge length" normaliser of He et al. 2022
      Sec. 4.4 for square inputs.

    Args:
        mode: ``'interocular'`` or ``'image'``.
        eye_indices: the two landmark indices of the eyes (``'interocular'`` only).
    """

    def __init__(self, mode: str = 'interocular', eye_indices: Sequence[int] = (0, 1)) -> None:
        if mode not in MODES:
            raise ValueError(f'SetLandmarkNorm: mode must be one of {MODES}, got {mode!r}')
        eyes = tuple(eye_indices)
        if (len(eyes) != 2 or not all(isinstance(i, int) and not isinstance(i, bool) for i in eyes)
                or eyes[0] == eyes[1] or min(eyes) < 0):
            raise ValueError(f'SetLandmarkNorm: eye_indices must be two different landmark '
                             f'indices, got {eye_indices!r}')
        self.mode = mode
        self.eye_indices = eyes

    def transform(self, results: dict) -> dict:
        name = results.get('img_path', 'the sample')
        if self.mode == 'image':
            if 'img' not in results:
                raise KeyError("SetLandmarkNorm(mode='image') needs 'img' in the results")
            h, w = results['img'].shape[:2]
            results['landmark_norm'] = np.array([w, h], dtype=np.float32)
            return results
        if 'gt_landmarks' not in results:
            raise KeyError(f"SetLandmarkNorm(mode='interocular') needs 'gt_landmarks' ({name})")
        points = np.asarray(results['gt_landmarks'], dtype=np.float64).reshape(-1, 2)
        i, j = self.eye_indices
        if max(i, j) >= len(points):
            raise ValueError(f'SetLandmarkNorm: eye_indices {self.eye_indices} out of range for '
                             f'{len(points)} landmarks of {name}')
        visible = results.get('gt_landmarks_visible')
        if visible is not None and not (visible[i] and visible[j]):
            raise ValueError(f'SetLandmarkNorm: an eye landmark of {name} is not visible; the '
                             'inter-ocular distance is undefined')
        distance = float(np.linalg.norm(points[i] - points[j]))
        if not distance > 0:
            raise ValueError(f'SetLandmarkNorm: the eyes of {name} coincide (inter-ocular '
                             'distance 0)')
        results['landmark_norm'] = np.array([distance, distance], dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(mode={self.mode!r}, eye_indices={self.eye_indices})'
