"""ArcFace part classification loss on squeezed part features."""
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from partseg.registry import MODELS
from partseg.utils.precision import full_precision_forward


@MODELS.register_module()
class ArcFaceLoss(nn.Module):
    """Part classification loss, Liu et al. 2021 Eq. (6) (ArcFace, Deng et al. 2019).

    Holds the learnable class basis ``W`` (num_classes, in_channels). Row k of every sample's part
    features F (background row already dropped) has class k; with ``theta_{j,i}`` the angle between
    ``F_i`` and ``W_j``, the logits of row i are ``s * cos(theta_{i,i} + m)`` for its own class and
    ``s * cos(theta_{j,i})`` otherwise, and the loss is the mean cross-entropy over the B*K rows.

    The official code keeps a class for the background (``num_classes = K + 1``) but classifies
    only the K foreground rows, sums their batch-mean cross-entropies and divides by K + 1:
    ``skip_background_row=True`` computes exactly that on features with the background row.

    Args:
        num_classes: number of foreground parts K.
        in_channels: part feature length L.
        s: radius scale (paper 20; the official code uses 30).
        m: additive angular margin in radians.
        loss_weight: lambda_cls of Eq. (12).
        target_fallback: if True, where ``theta_{i,i} + m > pi`` the target logit becomes
            ``cos(theta_{i,i}) - m * sin(m)`` so it keeps decreasing with the angle, as the official
            code (after arcface-pytorch, ``easy_margin=False``) does; the paper's Eq. (6) has no
            such case.
        skip_background_row: ``features`` hold row 0 (background) too, ``num_classes = K + 1``:
            W_0 stays a class of every row's softmax, row 0 itself is not classified, and the sum
            over rows 1..K of their batch-mean cross-entropies is divided by ``num_classes``
            (official code, ``skip_bg=True``). False: every row is classified, mean over rows.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 s: float = 20.0,
                 m: float = 0.5,
                 loss_weight: float = 1.0,
                 target_fallback: bool = False,
                 skip_background_row: bool = False) -> None:
        super().__init__()
        if int(num_classes) != num_classes or num_classes < 1:
            raise ValueError(f'ArcFaceLoss: num_classes must be a positive integer, '
                             f'got {num_classes!r}')
        if int(in_channels) != in_channels or in_channels < 1:
            raise ValueError(f'ArcFaceLoss: in_channels must be a positive integer, '
                             f'got {in_channels!r}')
        self.num_classes = int(num_classes)
        self.in_channels = int(in_channels)
        self.s = s
        self.m = m
        self.loss_weight = loss_weight
        self.target_fallback = target_fallback
        self.skip_background_row = bool(skip_background_row)
        if self.skip_background_row and self.num_classes < 2:
            raise ValueError(f'ArcFaceLoss: skip_background_row needs num_classes >= 2 (background '
                             f'+ parts), got {self.num_classes}')
        self.weight = nn.Parameter(torch.empty(self.num_classes, self.in_channels))
        nn.init.xavier_uniform_(self.weight)

    @full_precision_forward
    def forward(self, features: Tensor) -> Tensor:
        """ArcFace cross-entropy of ``features`` (B, K, L), row k labelled k."""
        k, length = self.num_classes, self.in_channels
        if features.dim() != 3 or tuple(features.shape[1:]) != (k, length):
            raise ValueError(f'ArcFaceLoss: features must be (B, {k}, {length}) = (B, num_classes, '
                             f'in_channels), got {tuple(features.shape)}')
        batch = features.shape[0]
        # cos[b, i, j] = cos(theta_{j,i}): (B, K, L) @ (L, K) -> (B, K, K)
        cos = F.normalize(features, dim=-1) @ F.normalize(self.weight, dim=-1).t()
        cos = cos.clamp(-1.0, 1.0)
        cos_target = cos.diagonal(dim1=1, dim2=2)  # (B, K, K) -> (B, K)
        # sin(theta) >= 0 on [0, pi]; the clamp keeps the gradient finite at cos = +-1
        sin_target = (1.0 - cos_target.pow(2)).clamp(min=torch.finfo(cos.dtype).tiny).sqrt()
        margin_target = cos_target * math.cos(self.m) - sin_target * math.sin(self.m)
        if self.target_fallback:
            margin_target = torch.where(cos_target > math.cos(math.pi - self.m), margin_target,
                                        cos_target - self.m * math.sin(self.m))
        is_target = torch.eye(k, dtype=torch.bool, device=features.device)  # (K, K)
        logits = self.s * torch.where(is_target, margin_target.unsqueeze(-1), cos)  # (B, K, K)
        labels = torch.arange(k, device=features.device).repeat(batch)  # (B*K,)
        if self.skip_background_row:
            # rows 1..K-1 against all K classes: sum of per-row batch means / K
            rows = logits[:, 1:].reshape(batch * (k - 1), k)  # (B, K, K) -> (B*(K-1), K)
            per_row = F.cross_entropy(
                rows, labels.view(batch, k)[:, 1:].reshape(-1), reduction='sum')
            return self.loss_weight * per_row / (batch * k)
        loss = F.cross_entropy(logits.reshape(batch * k, k), labels)
        return self.loss_weight * loss
