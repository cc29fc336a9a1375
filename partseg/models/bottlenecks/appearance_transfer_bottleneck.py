"""Appearance transfer bottleneck of DisPart, Liu et al. 2021 Eq. (2)-(3)."""
import torch
import torch.nn as nn
from torch import Tensor

from partseg.registry import MODELS


@MODELS.register_module()
class AppearanceTransferBottleneck(nn.Module):
    """Appearance transfer bottleneck, Liu et al. 2021 Eq. (2)-(3): squeeze, then expand.

    ``squeeze`` (Eq. 2) averages the appearance features under each part map,
    ``F = D^-1 S_bar A_bar^T`` with ``D = diag(S_bar 1)``; ``expand`` (Eq. 3) paints part features
    back with another image's part maps, ``A_bar = F^T S_bar``. ``forward`` chains both, giving the
    rendered appearance map ``A^{1->2}`` from the appearance of image 1 and the shape of image 2.

    Args:
        assignment: how ``expand`` uses the part maps. ``'soft'`` (Eq. 3, the paper and the
            official code): the soft maps themselves. ``'hard'``: each cell takes the feature of
            its arg-max part (forward), with the soft maps' gradient (straight-through estimator),
            so the rendered map is piecewise constant and the mixing proportions of a soft map
            cannot carry the image's intensities past the appearance features (an option of this
            toolbox, used by the CPU synthetic config; ``squeeze`` stays soft).
        eps: lower bound of each part's mass ``sum_uv S_k,uv`` in the row normalisation, so a part
            that vanishes from an image gives a zero feature instead of NaN. The official code
            divides without a bound; softmax maps never reach 0 in practice, so the two agree.
    """

    def __init__(self, assignment: str = 'soft', eps: float = 1e-6) -> None:
        super().__init__()
        if assignment not in ('soft', 'hard'):
            raise ValueError(f"assignment must be 'soft' or 'hard', got {assignment!r}")
        self.assignment = assignment
        if not eps > 0:
            raise ValueError(f'eps must be > 0, got {eps!r}')
        self.eps = eps

    def squeeze(self, part_maps: Tensor, appearance: Tensor) -> Tensor:
        """Eq. (2): (B, K', H, W) part maps, (B, L, H, W) appearance -> (B, K', L) part features."""
        if part_maps.dim() != 4 or appearance.dim() != 4:
            raise ValueError(f'part_maps and appearance must be (B, C, H, W), got '
                             f'{tuple(part_maps.shape)} and {tuple(appearance.shape)}')
        if (appearance.shape[0] != part_maps.shape[0]
                or appearance.shape[-2:] != part_maps.shape[-2:]):
            raise ValueError(f'appearance {tuple(appearance.shape)} does not match part_maps '
                             f'{tuple(part_maps.shape)} in batch size or spatial size')
        s_bar = part_maps.flatten(2)  # (B, K', H, W) -> (B, K', HW)
        a_bar = appearance.flatten(2)  # (B, L, H, W) -> (B, L, HW)
        mass = s_bar.sum(-1, keepdim=True).clamp(min=self.eps)  # diag of D: (B, K', 1)
        return (s_bar @ a_bar.transpose(1, 2)) / mass  # (B, K', HW) @ (B, HW, L) -> (B, K', L)

    def expand(self, part_features: Tensor, part_maps: Tensor) -> Tensor:
        """Eq. (3): (B, K', L) part features, (B, K', H, W) part maps -> (B, L, H, W)."""
        if part_features.dim() != 3:
            raise ValueError(f'part_features must be (B, K+1, L), got {tuple(part_features.shape)}')
        if part_maps.dim() != 4 or part_maps.shape[:2] != part_features.shape[:2]:
            raise ValueError(f'part_maps {tuple(part_maps.shape)} do not match part_features '
                             f'{tuple(part_features.shape)} in batch size or number of parts')
        b, k, h, w = part_maps.shape
        if self.assignment == 'hard':
            hard = torch.zeros_like(part_maps).scatter_(1, part_maps.argmax(1, keepdim=True), 1.0)
            part_maps = part_maps + (hard - part_maps).detach()  # one-hot forward, soft gradient
        rendered = part_features.transpose(1, 2) @ part_maps.flatten(2)  # (B, L, K') @ (B, K', HW)
        return rendered.view(b, -1, h, w)  # (B, L, HW) -> (B, L, H, W)

    def forward(self, part_maps_src: Tensor, appearance_src: Tensor,
                part_maps_dst: Tensor) -> Tensor:
        """``A^{src->dst}``: appearance of the source image rendered in the destination's shape."""
        return self.expand(self.squeeze(part_maps_src, appearance_src), part_maps_dst)

    def extra_repr(self) -> str:
        return f'assignment={self.assignment!r}, eps={self.eps}'
