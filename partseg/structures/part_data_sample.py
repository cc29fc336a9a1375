"""The data sample that flows through partseg: images' ground truth and the model's part maps."""
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch import Tensor


def _checked(value, dtype: type, name: str):
    """``value`` if it is a ``dtype``, else a one-line ``TypeError`` naming the field."""
    if not isinstance(value, dtype):
        raise TypeError(f'PartDataSample.{name} must be a {dtype.__name__}, got '
                        f'{type(value).__name__}')
    return value


class PartDataSample(SegDataSample):
    """An mmseg :class:`SegDataSample` with the fields part segmentation needs.

    Inherited: ``gt_sem_seg`` (GT part labels, 0 = background, 1..K parts, shape (1, H, W)),
    ``pred_sem_seg`` (argmax of the part maps, (1, H, W)) and ``seg_logits`` (part logits,
    (K+1, H, W); their softmax over channels is the part-map tensor S of both papers).
    Added (setting one to a value of another type raises ``TypeError``):

    - ``gt_fg_mask``: :class:`PixelData` (1, H, W) bool, GT foreground.
    - ``gt_landmarks``: (N, 2) float tensor, (x, y) in pixels of the network input (``img_shape``).
    - ``gt_landmarks_visible``: (N,) bool tensor.
    - ``landmark_norm``: (2,) float tensor, per-axis normaliser in pixels (inter-ocular distance
      twice, or bounding-box width and height).

    Metainfo keys used by partseg: ``img_path``, ``ori_shape``, ``img_shape`` (H, W),
    ``regression_split`` ('train' samples fit the landmark regressor, 'test' ones are scored).
    """

    @property
    def gt_fg_mask(self) -> PixelData:
        return self._gt_fg_mask

    @gt_fg_mask.setter
    def gt_fg_mask(self, value: PixelData) -> None:
        self.set_field(_checked(value, PixelData, 'gt_fg_mask'), '_gt_fg_mask', dtype=PixelData)

    @gt_fg_mask.deleter
    def gt_fg_mask(self) -> None:
        del self._gt_fg_mask

    @property
    def gt_landmarks(self) -> Tensor:
        return self._gt_landmarks

    @gt_landmarks.setter
    def gt_landmarks(self, value: Tensor) -> None:
        self.set_field(_checked(value, Tensor, 'gt_landmarks'), '_gt_landmarks', dtype=Tensor)

    @gt_landmarks.deleter
    def gt_landmarks(self) -> None:
        del self._gt_landmarks

    @property
    def gt_landmarks_visible(self) -> Tensor:
        return self._gt_landmarks_visible

    @gt_landmarks_visible.setter
    def gt_landmarks_visible(self, value: Tensor) -> None:
        self.set_field(
            _checked(value, Tensor, 'gt_landmarks_visible'), '_gt_landmarks_visible', dtype=Tensor)

    @gt_landmarks_visible.deleter
    def gt_landmarks_visible(self) -> None:
        del self._gt_landmarks_visible

    @property
    def landmark_norm(self) -> Tensor:
        return self._landmark_norm

    @landmark_norm.setter
    def landmark_norm(self, value: Tensor) -> None:
        self.set_field(_checked(value, Tensor, 'landmark_norm'), '_landmark_norm', dtype=Tensor)

    @landmark_norm.deleter
    def landmark_norm(self) -> None:
        del self._landmark_norm
