"""Perceptual reconstruction loss on VGG-19 features."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from partseg.models.backbones.vgg19_features import VGG19_LAYER_ENDS as _RELU_LAYER_ENDS
from partseg.models.backbones.vgg19_features import VGG19Features
from partseg.registry import MODELS
from partseg.utils.checks import check_int
from partseg.utils.pretrained_weights import MissingPretrainedWeightsError

_EPS = 1e-6


def _vgg19_layer_ends() -> Dict[str, int]:
    """Map ``'input'`` and every ``'convB_I'`` of VGG-19 to the end index of its slice of
    ``torchvision.models.vgg19().features``: the feature is the output of the ReLU after the conv
    (as in the official DisPart code), ``features[:end](x)``; :class:`VGG19Features` calls it
    ``'reluB_I'``."""
    return {name.replace('relu', 'conv'): end for name, end in _RELU_LAYER_ENDS.items()}


VGG19_LAYER_ENDS = _vgg19_layer_ends()


@MODELS.register_module()
class PerceptualLoss(nn.Module):
    """Perceptual reconstruction loss P, Liu et al. 2021 Eq. (5) with appendix A.2.

    ``P(x, x_hat) = (1/N) sum_i w_i * mean((phi_i(x) - phi_i(x_hat))^2)`` over the N requested
    layers ``phi_i`` of a frozen ImageNet VGG-19 (partseg's shared :class:`VGG19Features`;
    ``'convB_I'`` is the output of the ReLU after that conv, ``'input'`` the normalised image).
    The division by N follows the official code; it also multiplies the weighted sum by the
    unweighted layer-loss sum ``sum_j mean((phi_j(x) - phi_j(x_hat))^2)`` (gradient through both),
    which ``multiply_by_distance_sum=True`` reproduces.

    Args:
        loss_weight: lambda_rec of Eq. (12).
        layers: VGG-19 layers compared (A.2: input, conv1_2, ..., conv5_2). VGG layers past the
            deepest requested one are not built.
        pretrained: local path or http(s) URL of a torchvision VGG-19 ``state_dict`` (keys
            ``features.*``; other keys are ignored), read by ``init_weights`` (a URL from torch's
            hub cache when it is there), never when the loss is built. ``None`` keeps a random
            VGG (with a warning): the loss then compares untrained features.
        weight_update_interval: with ``'running_mean'``, the number of training calls averaged
            before the layer weights are refreshed (A.2: 100).
        layer_weighting: ``'running_mean'``: every ``weight_update_interval`` training calls each
            weight becomes the reciprocal of its layer's mean loss over those calls (A.2);
            ``'fixed'``: ``layer_weights`` stay as given.
        layer_weights: initial (``'running_mean'``) or constant (``'fixed'``) weights, one per
            layer; ``None`` = all ones. The official configs start from
            ``[1/0.25, 1/0.26, 1/1.4, 1/3.19, 1/2.54, 1/0.3]``.
        mask_reduction: with a mask, ``'mask_sum'`` divides the masked squared error by the mask
            sum (times channels), so an all-ones mask equals no mask; ``'mean'`` divides by the
            element count as the official code does.
        feature_chunks: run the VGG on the batch in this many consecutive slices (the last ones
            smaller when the batch does not divide) and add their squared errors up: the same
            loss, a speed and memory option. Two halves of a DisPart batch (one per TPS view, as
            the official code runs it) are faster on CPUs than one double batch
            (docs/benchmarks.md); 1 runs the whole batch at once.
        multiply_by_distance_sum: multiply the loss by the sum of the unweighted layer distances
            (the official DisPart code's ``PerceptualNewLoss``); not in the paper.

    The running-mean state (``layer_weights``, ``loss_accumulator``, ``num_accumulated``) lives in
    buffers, so checkpoints resume it exactly. It only advances in training mode.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 layers: Sequence[str] = ('input', 'conv1_2', 'conv2_2', 'conv3_2', 'conv4_2',
                                          'conv5_2'),
                 pretrained: Optional[str] = None,
                 weight_update_interval: int = 100,
                 layer_weighting: str = 'running_mean',
                 layer_weights: Optional[Sequence[float]] = None,
                 mask_reduction: str = 'mask_sum',
                 feature_chunks: int = 1,
                 multiply_by_distance_sum: bool = False) -> None:
        super().__init__()
        layers = tuple(layers)
        if not layers:
            raise ValueError('PerceptualLoss: layers must name at least one VGG-19 layer')
        unknown = [name for name in layers if name not in VGG19_LAYER_ENDS]
        if unknown:
            raise ValueError(f'PerceptualLoss: unknown VGG-19 layer {unknown[0]!r}; choose from '
                             f'{", ".join(VGG19_LAYER_ENDS)}')
        if len(set(layers)) != len(layers):
            raise ValueError(f'PerceptualLoss: layers repeat a name: {layers}')
        if layer_weighting not in ('running_mean', 'fixed'):
            raise ValueError(f"PerceptualLoss: layer_weighting must be 'running_mean' or 'fixed', "
                             f'got {layer_weighting!r}')
        if mask_reduction not in ('mask_sum', 'mean'):
            raise ValueError(f"PerceptualLoss: mask_reduction must be 'mask_sum' or 'mean', "
                             f'got {mask_reduction!r}')
        if int(weight_update_interval) != weight_update_interval or weight_update_interval < 1:
            raise ValueError(f'PerceptualLoss: weight_update_interval must be a positive integer, '
                             f'got {weight_update_interval!r}')
        check_int(feature_chunks, 'feature_chunks', 1, owner='PerceptualLoss')
        if layer_weights is None:
            layer_weights = [1.0] * len(layers)
        if len(layer_weights) != len(layers):
            raise ValueError(f'PerceptualLoss: layer_weights has {len(layer_weights)} values for '
                             f'{len(layers)} layers')
        self.loss_weight = loss_weight
        self.layers = layers
        self.pretrained = pretrained
        self.weight_update_interval = int(weight_update_interval)
        self.layer_weighting = layer_weighting
        self.mask_reduction = mask_reduction
        self.feature_chunks = feature_chunks
        self.multiply_by_distance_sum = bool(multiply_by_distance_sum)

        # the shared frozen VGG-19 (partseg.models.backbones), up to the deepest requested layer
        self.vgg = VGG19Features([name.replace('conv', 'relu') for name in layers],
                                 pretrained=pretrained)

        self.register_buffer('layer_weights', torch.tensor(layer_weights, dtype=torch.float32))
        self.register_buffer('loss_accumulator', torch.zeros(len(layers)))
        self.register_buffer('num_accumulated', torch.zeros((), dtype=torch.long))

    def init_weights(self) -> None:
        """Load the pretrained VGG-19 (:meth:`VGG19Features.init_weights`); a missing file is
        reported against this loss's ``pretrained``."""
        try:
            self.vgg.init_weights()
        except MissingPretrainedWeightsError as error:  # this loss's `pretrained` named the file
            raise error.name_key(f'{type(self).__name__}.pretrained', module=self) from None

    def train(self, mode: bool = True) -> 'PerceptualLoss':
        """Set training mode (which drives the running mean); the VGG always stays in eval."""
        super().train(mode)
        self.vgg.eval()
        return self

    def _features(self, images: Tensor) -> List[Tensor]:
        """VGG features of ``images`` (B, 3, H, W) in [0, 1] at each requested layer."""
        return self.vgg(images)

    def _squared_error_terms(self, pred: Tensor, target: Tensor,
                             mask: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        """Per layer: the (masked) squared-error sum and what it is divided by, both (N,)."""
        pred_feats = self._features(pred)
        with torch.no_grad():
            target_feats = self._features(target)
        sums, counts = [], []
        for pred_feat, target_feat in zip(pred_feats, target_feats):
            # in fp32 also under autocast (no-op otherwise): the VGG runs in bf16 / fp16, the
            # errors of near-equal features are summed over many elements
            squared = (pred_feat.float() - target_feat.float()).pow(2)  # (B, C_l, H_l, W_l)
            if mask is None:
                sums.append(squared.sum())
                counts.append(squared.new_tensor(float(squared.numel())))
                continue
            layer_mask = F.adaptive_avg_pool2d(mask, squared.shape[-2:])  # (B, 1, H_l, W_l)
            sums.append((squared * layer_mask).sum())
            if self.mask_reduction == 'mean':
                counts.append(squared.new_tensor(float(squared.numel())))
            else:
                counts.append(layer_mask.sum() * squared.shape[1])
        return torch.stack(sums), torch.stack(counts)

    @staticmethod
    def _check_inputs(pred: Tensor, target: Tensor, mask: Optional[Tensor]) -> None:
        if pred.dim() != 4 or pred.shape[1] != 3 or pred.shape != target.shape:
            raise ValueError(f'PerceptualLoss: pred and target must both be (B, 3, H, W), got '
                             f'{tuple(pred.shape)} and {tuple(target.shape)}')
        b, _, h, w = pred.shape
        if b == 0:
            raise ValueError('PerceptualLoss: pred and target hold no images (batch size 0)')
        if mask is not None and tuple(mask.shape) != (b, 1, h, w):
            raise ValueError(f'PerceptualLoss: mask must be {(b, 1, h, w)}, got '
                             f'{tuple(mask.shape)}')

    def forward(self, pred: Tensor, target: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """Weighted perceptual distance between ``pred`` and ``target``, (B, 3, H, W) RGB in [0, 1]
        (``pred`` may leave the range); ``mask`` (B, 1, H, W) in [0, 1] weights pixels."""
        self._check_inputs(pred, target, mask)
        sums, counts = 0, 0
        slices = zip(
            pred.tensor_split(self.feature_chunks), target.tensor_split(self.feature_chunks),
            [None] *
            self.feature_chunks if mask is None else mask.tensor_split(self.feature_chunks))
        for pred_part, target_part, mask_part in slices:
            if pred_part.shape[0]:
                part_sums, part_counts = self._squared_error_terms(pred_part, target_part,
                                                                   mask_part)
                sums, counts = sums + part_sums, counts + part_counts
        distances = sums / counts.clamp(min=_EPS)  # (N,) mean squared error of each layer
        # A copy: autograd keeps the weights for the backward pass, and the running-mean update
        # below rewrites the buffer in place before that pass runs.
        weights = self.layer_weights.to(distances.dtype, copy=True)
        loss = (weights * distances).sum() / len(self.layers)
        if self.multiply_by_distance_sum:
            loss = loss * distances.sum()
        if self.training and self.layer_weighting == 'running_mean':
            self._update_weights(distances.detach())
        return self.loss_weight * loss

    @torch.no_grad()
    def _update_weights(self, distances: Tensor) -> None:
        self.loss_accumulator += distances.to(self.loss_accumulator.dtype)
        self.num_accumulated += 1
        if int(self.num_accumulated) >= self.weight_update_interval:
            mean = self.loss_accumulator / self.num_accumulated
            self.layer_weights.copy_(1.0 / (mean + _EPS))
            self.loss_accumulator.zero_()
            self.num_accumulated.zero_()
