"""SCOPS, Hung et al. 2019: self-supervised co-part segmentation, as a partseg plugin."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor
from torch import Tensor, nn

from partseg.models.layers import RandomTPS
from partseg.models.part_segmentors import BasePartSegmentor
from partseg.registry import MODELS
from partseg.structures import PartDataSample


@MODELS.register_module()
class SCOPS(BasePartSegmentor):
    """SCOPS, Hung et al. 2019 Eq. (1)-(6): part segmentation from geometric and semantic losses.

    A backbone and a 1x1 conv give K+1 part logits (channel 0 = background); the part maps are
    their softmax ``R`` (B, K+1, h, w). Training (``loss``) draws one random TPS ``T_s`` per image,
    runs the original and the warped images through the network as one 2B batch (shared BN
    statistics), and returns:

    - ``loss_con``: geometric concentration of ``R`` (Eq. 1);
    - ``loss_eqv``: equivariance of ``R' = R(T_s(x))`` with ``T_s(R)`` (Eq. 2-3);
    - ``loss_sc``: semantic consistency, the features ``V`` of ``feature_extractor`` (resized to
      (h, w)) reconstructed from the part bases ``w_k`` weighted by ``R`` (Eq. 4-5);
    - ``loss_on``: orthonormality of the part bases (Eq. 6).

    All losses are computed on the (h, w) part maps; the official code upsamples them to the image
    size first. The part bases are a (K, D) parameter ``part_basis`` passed through a ReLU (the
    features are non-negative ReLU outputs), initialised with |N(0, 1)| as in the official code.

    Saliency: the official code multiplies ``V`` by an unsupervised saliency map (the paper's
    "with saliency" results), so that background pixels (``V = 0``) are best left to the
    background channel, which nothing else constrains. ``saliency_field`` names a data-sample
    field holding such a (1, H, W) foreground mask; the synthetic dataset has none but its ground
    truth, ``'gt_fg_mask'`` (GANSeg's "SCOPS w/ GT BG" protocol). ``None`` (default) is SCOPS
    without saliency, the variant DisPart's and GANSeg's tables also report.

    The random TPS comes from partseg's :class:`RandomTPS`, the sampler DisPart's
    ``TPSPairPreprocessor`` uses: the sampled output-to-source map is evaluated on the image's
    pixel grid to warp the image and on the part-map grid to warp ``R``, so both are warped by the
    same ``T_s`` in normalised [-1, 1] coordinates. Outside the source
    image the warped image is 0 after normalisation (the preprocessor's mean colour; the official
    code also pads with its mean colour) and ``T_s(R)`` is 0; the warped validity mask tells the
    equivariance loss which pixels count.

    Args:
        num_parts: K, the number of foreground parts.
        backbone: config of the network before the part head (e.g. partseg's
            ``TruncatedResNet``); must expose ``out_channels``.
        feature_extractor: config of the frozen feature network behind ``V``
            (partseg's :class:`VGG19Features` for the paper, :class:`FrozenBackboneFeatures`
            without pretrained weights); gets images in [0, 1], returns one (B, D, H', W') map,
            must expose ``out_channels`` (D).
        concentration_loss, equivariance_loss, semantic_consistency_loss, orthonormality_loss:
            configs of the four losses (their ``loss_weight`` / ``*_weight`` are the λ).
        equivariance_tps: config of a :class:`RandomTPS` (``grid_size``, ``point_std``,
            ``extra_point_std``, ``extra_point_prob``, ``translation_std``, ``rotation_std``,
            ``scale_std``) defining the random ``T_s``.
        normalize_features: L2-normalise every pixel's feature vector and every basis vector
            (official ``--ref-norm``), so the loss does not depend on the features' scale.
        saliency_field: data-sample field of a (1, H, W) saliency / foreground mask that
            multiplies ``V`` in training (e.g. ``'gt_fg_mask'``); None = no saliency.
        data_preprocessor: an ``ImgDataPreprocessor`` (config) that normalises with mean/std;
            default mean = std = 127.5 (images in [-1, 1]).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 num_parts: int,
                 backbone: dict,
                 feature_extractor: dict,
                 concentration_loss: dict,
                 equivariance_loss: dict,
                 semantic_consistency_loss: dict,
                 orthonormality_loss: dict,
                 equivariance_tps: dict,
                 normalize_features: bool = True,
                 saliency_field: Optional[str] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ImgDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3)
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        if not isinstance(data_preprocessor, ImgDataPreprocessor) or \
                not hasattr(data_preprocessor, 'mean'):
            raise TypeError(f'SCOPS: data_preprocessor must be an ImgDataPreprocessor with mean '
                            f'and std (the feature extractor needs the images back in [0, 1]), '
                            f'got {type(data_preprocessor).__name__}')
        super().__init__(num_parts, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.feature_extractor = MODELS.build(feature_extractor)
        for key, module in (('backbone', self.backbone), ('feature_extractor',
                                                          self.feature_extractor)):
            if not hasattr(module, 'out_channels'):
                raise TypeError(f'SCOPS: {key} ({type(module).__name__}) must expose '
                                f'out_channels')
        self.part_head = nn.Conv2d(self.backbone.out_channels, num_parts + 1, 1)
        self.part_basis = nn.Parameter(
            torch.randn(num_parts, self.feature_extractor.out_channels).abs())  # w_k: (K, D)
        self.concentration_loss = MODELS.build(concentration_loss)
        self.equivariance_loss = MODELS.build(equivariance_loss)
        self.semantic_consistency_loss = MODELS.build(semantic_consistency_loss)
        self.orthonormality_loss = MODELS.build(orthonormality_loss)
        tps = MODELS.build(equivariance_tps) if isinstance(equivariance_tps,
                                                           dict) else equivariance_tps
        if not isinstance(tps, RandomTPS):
            raise TypeError(f'SCOPS: equivariance_tps must configure a RandomTPS (partseg\'s '
                            f'random TPS sampler), got {type(tps).__name__}')
        self.tps_sampler = tps
        self.normalize_features = bool(normalize_features)
        if saliency_field is not None and not isinstance(saliency_field, str):
            raise TypeError(f'SCOPS: saliency_field must be a data-sample field name or None, '
                            f'got {saliency_field!r}')
        self.saliency_field = saliency_field

    def part_logits(self, inputs: Tensor) -> Tensor:
        """(B, 3, H, W) normalised images -> (B, K+1, h, w) part logits."""
        if inputs.dim() != 4 or inputs.shape[1] != 3:
            raise ValueError(f'SCOPS: inputs must be (B, 3, H, W) images, got '
                             f'{tuple(inputs.shape)}')
        return self.part_head(self.backbone(inputs))

    def bases(self) -> Tensor:
        """The part basis vectors w_k, (K, D): ReLU'd, L2-normalised with normalize_features."""
        basis = F.relu(self.part_basis)
        return F.normalize(basis, dim=1, eps=1e-6) if self.normalize_features else basis

    def features(self, inputs: Tensor, size: Tuple[int, int]) -> Tensor:
        """Frozen features V of the normalised ``inputs`` (B, 3, H, W) at ``size``: (B, D, h, w)."""
        preprocessor = self.data_preprocessor
        images = (inputs * preprocessor.std + preprocessor.mean) / 255.0  # back to [0, 1]
        with torch.no_grad():
            features = self.feature_extractor(images)  # (B, D, H', W')
            # (B, D, H', W') -> (B, D, h, w); antialiased when shrinking
            features = F.interpolate(
                features, size=size, mode='bilinear', align_corners=False, antialias=True)
            if self.normalize_features:
                features = F.normalize(features, dim=1, eps=1e-6)
        return features

    def saliency(self, data_samples: Optional[List[PartDataSample]], size: Tuple[int, int],
                 like: Tensor) -> Tensor:
        """The ``saliency_field`` masks of ``data_samples``, averaged to ``size``: (B, 1, h, w)."""
        field = self.saliency_field
        if data_samples is None or not all(field in sample for sample in data_samples):
            raise KeyError(f'SCOPS: saliency_field={field!r} but a training data sample has no '
                           f'{field!r} (does the dataset provide it?)')
        masks = torch.stack([sample.get(field).data for sample in data_samples]).to(like)
        if masks.dim() != 4 or masks.shape[1] != 1:
            raise ValueError(f'SCOPS: data-sample field {field!r} must be a (1, H, W) mask, got '
                             f'{tuple(masks.shape[1:])}')
        return F.adaptive_avg_pool2d(masks, size)  # (B, 1, H, W) -> (B, 1, h, w)

    def sample_warps(self, batch: int, device: torch.device,
                     dtype: torch.dtype) -> Tuple[Tensor, Tensor, Tensor]:
        """``batch`` random TPS T_s from partseg's sampler, as kornia ``(kernel_centers,
        kernel_weights, affine_weights)``: (B, N, 2), (B, N, 2), (B, 3, 2)."""
        return self.tps_sampler.sample(batch, device, dtype)

    def warp_grid(self, warps: Tuple[Tensor, Tensor, Tensor], size: Tuple[int, int]) -> Tensor:
        """The output-to-source ``grid_sample`` grid (B, h, w, 2) of ``warps`` on an (h, w) grid
        (:meth:`RandomTPS.grid`: normalised to [-1, 1] with ``align_corners=False``, so the same
        warps give the same geometric map at any resolution)."""
        return self.tps_sampler.grid(warps, size)

    def loss(self,
             inputs: Tensor,
             data_samples: Optional[List[PartDataSample]] = None) -> Dict[str, Tensor]:
        """Eq. (1)-(6) on a batch (B, 3, H, W): loss_con, loss_eqv, loss_sc, loss_on."""
        if inputs.dim() != 4 or inputs.shape[1] != 3:
            raise ValueError(f'SCOPS.loss expects inputs (B, 3, H, W), got {tuple(inputs.shape)}')
        b, _, height, width = inputs.shape
        warps = self.sample_warps(b, inputs.device, inputs.dtype)
        warped_inputs = F.grid_sample(
            inputs,
            self.warp_grid(warps, (height, width)),
            mode='bilinear',
            padding_mode='zeros',
            align_corners=False)  # T_s(x): (B, 3, H, W)
        # x and T_s(x) as one 2B batch (shared BN statistics): (2B, K+1, h, w) -> R, R'
        part_maps, warped_pred = self.part_logits(torch.cat(
            (inputs, warped_inputs))).softmax(1).split(b)
        map_size = tuple(part_maps.shape[-2:])
        # T_s(R) and the validity mask, warped together: (B, K+2, h, w)
        stacked = torch.cat((part_maps, part_maps.new_ones(b, 1, *map_size)), dim=1)
        warped = F.grid_sample(
            stacked,
            self.warp_grid(warps, map_size),
            mode='bilinear',
            padding_mode='zeros',
            align_corners=False)
        warped_maps, valid = warped[:, :-1], warped[:, -1:]
        basis = self.bases()
        features = self.features(inputs, map_size)  # V: (B, D, h, w)
        if self.saliency_field is not None:
            features = features * self.saliency(data_samples, map_size, features)
        return dict(
            loss_con=self.concentration_loss(part_maps),
            loss_eqv=self.equivariance_loss(warped_pred, warped_maps, valid),
            loss_sc=self.semantic_consistency_loss(features, part_maps, basis),
            loss_on=self.orthonormality_loss(basis))
