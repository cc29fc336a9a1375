"""DisPart, Liu et al. 2021: unsupervised part segmentation disentangling appearance and shape."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import initialize
from torch import Tensor

from partseg.models.backbones.truncated_resnet import gaussian_init_cfg
from partseg.models.data_preprocessors.tps_pair_preprocessor import (TPS_MASK_KEY,
                                                                     TPSPairPreprocessor)
from partseg.registry import MODELS
from partseg.structures import PartDataSample
from .base_part_segmentor import BasePartSegmentor

# Minimum side of the part maps, in cells; the image must be at least this times the stride.
MIN_MAP_SIZE = 4


@MODELS.register_module()
class DisPart(BasePartSegmentor):
    """DisPart, Liu et al. 2021 Eq. (1)-(12): encoders E_s, E_a, squeeze/expand, decoder D.

    Training (``loss``) takes the TPS pairs of :class:`TPSPairPreprocessor`, (B, 2, 3, H, W), and
    computes, for both views (``view_batching``: stacked as one 2B batch, or one view at a time):
    ``S(i) = softmax(part_head(E_s(x(i))))`` and ``A(i) = E_a(x(i))`` (Eq. 1),
    ``F(i) = squeeze(S(i), A(i))`` (Eq. 2), ``x_hat(1) = D(coords (+) expand(F(2), S(1)))`` and
    ``x_hat(2) = D(coords (+) expand(F(1), S(2)))`` (Eq. 3-4, appendix A.3), and the losses of
    Eq. (12):

    - ``loss_rec``: ``P(x(1), x_hat(1)) + P(x(2), x_hat(2))`` (Eq. 5) on images mapped back to
      [0, 1] with the preprocessor's mean/std; masked by the TPS validity masks when
      ``masked_reconstruction`` (the official code masks, the paper does not say).
    - ``loss_cls``: ArcFace (Eq. 6) on ``F(1)`` and ``F(2)`` without the background row (the paper);
      ``classify_background=True`` passes it too (then ``num_classes = K + 1``; the official code
      keeps the background class but not the row: ``ArcFaceLoss(skip_background_row=True)``).
    - ``loss_fg`` / ``loss_bg``: concentration losses (Eq. 7-11) on ``S(1)`` and ``S(2)``.

    Each loss returns a mean over its batch; the two directions are summed as in Eq. (5), i.e. each
    loss is evaluated once on the 2B batch of both views and multiplied by 2, or with
    ``per_view_losses=True`` on each view's B images and summed (the official code; it differs
    for losses not linear in the batch mean, e.g. the official perceptual loss). The loss weights
    (lambda of Eq. 12) are the losses' ``loss_weight``.

    Image sizes: every image needs at least ``MIN_MAP_SIZE`` (4) part-map cells per side, i.e.
    ``4 * output_stride`` px; training (and ``swap_appearance``) also needs H and W divisible by the
    output stride so the decoder gives back the image size. Prediction upsamples the part logits
    to the image size.

    Args:
        num_parts: K, the number of foreground parts (channel 0 of the part maps is background).
        shape_encoder: config of E_s (e.g. ``TruncatedResNet`` depth 18); must expose
            ``out_channels`` and ``output_stride``.
        appearance_encoder: config of E_a (e.g. ``TruncatedResNet`` depth 34), same attributes;
            its ``out_channels`` is L and its output stride must equal the shape encoder's.
        bottleneck: config of the squeeze/expand block (``AppearanceTransferBottleneck``).
        decoder: config of D (``DisPartDecoder``); ``in_channels`` must be L + 2 (L without
            coordinate channels) and its ``upsample_factor`` the encoders' output stride.
        reconstruction_loss: ``forward(pred, target, mask=None)`` on (N, 3, H, W) images in [0, 1].
        classification_loss: ``forward(features)`` on (N, K, L) part features (``ArcFaceLoss``);
            its ``num_classes`` (K, or K + 1 with ``classify_background``) and ``in_channels`` (L)
            are filled in from ``num_parts`` and the appearance encoder.
        foreground_loss, background_loss: ``forward(part_maps)`` on (N, K+1, h, w) softmax maps.
        data_preprocessor: a :class:`TPSPairPreprocessor` or its config (default: its defaults).
        coordinate_channels: config of the layer that appends the two coordinate channels
            (``CoordinateChannels``, appendix A.3); None appends none (a toolbox option: the
            decoder then has no position to paint from, and ``decoder.in_channels`` is L).
        masked_reconstruction: pass the TPS validity masks to the reconstruction loss.
        classify_background: pass the background feature row (and class) to the ArcFace loss.
        view_batching: how the two views pass the encoders and the decoder in training.
            ``'joint'``: as one batch of 2B images (BN statistics over both views).
            ``'separate'``: each view as its own batch of B (BN statistics per view, as the
            official code computes them); faster on CPUs, where convolutions over a batch of B
            run more efficiently than over 2B (docs/benchmarks.md). The paper does not say.
        per_view_losses: evaluate every loss on each view's batch and sum the two (the official
            code) instead of once on both views' 2B images times 2.
        init_std: std of the Gaussian init of every conv weight of the encoders, the part head and
            the decoder (Sec. 4.1: 0.01; BN weight 1, bias 0); the losses keep their own init.
            ``None`` keeps each component's own initialisation.
        init_cfg: mmengine init config applied by ``init_weights``.
    """

    def __init__(self,
                 num_parts: int,
                 shape_encoder: dict,
                 appearance_encoder: dict,
                 bottleneck: dict,
                 decoder: dict,
                 reconstruction_loss: dict,
                 classification_loss: dict,
                 foreground_loss: dict,
                 background_loss: dict,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 coordinate_channels: Optional[dict] = dict(type='CoordinateChannels'),
                 masked_reconstruction: bool = False,
                 classify_background: bool = False,
                 view_batching: str = 'joint',
                 per_view_losses: bool = False,
                 init_std: Optional[float] = 0.01,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='TPSPairPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        if not isinstance(data_preprocessor, TPSPairPreprocessor):
            raise TypeError(f'data_preprocessor must be a TPSPairPreprocessor (DisPart trains on '
                            f'its TPS pairs), got {type(data_preprocessor).__name__}')
        super().__init__(num_parts, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.masked_reconstruction = bool(masked_reconstruction)
        self.classify_background = bool(classify_background)
        if view_batching not in ('joint', 'separate'):
            raise ValueError(f"view_batching must be 'joint' or 'separate', got "
                             f'{view_batching!r}')
        self.view_batching = view_batching
        self.per_view_losses = bool(per_view_losses)

        self.shape_encoder = MODELS.build(shape_encoder)
        self.appearance_encoder = MODELS.build(appearance_encoder)
        shape_channels, shape_stride = self._encoder_attrs(self.shape_encoder, 'shape_encoder')
        appearance_channels, stride = self._encoder_attrs(self.appearance_encoder,
                                                          'appearance_encoder')
        if shape_stride != stride:
            raise ValueError(f'shape_encoder output stride {shape_stride} != appearance_encoder '
                             f'output stride {stride}: their maps must have the same size (check '
                             f'shape_encoder.strides / appearance_encoder.strides / stem_pool)')
        self.output_stride = stride
        self.part_head = nn.Conv2d(shape_channels, num_parts + 1, 1)  # E_s's extra 1x1 conv
        self.bottleneck = MODELS.build(bottleneck)
        # None: no coordinate channels (then decoder.in_channels = L)
        self.coordinate_channels = (
            nn.Identity() if coordinate_channels is None else MODELS.build(coordinate_channels))
        self.decoder = MODELS.build(decoder)
        expected = appearance_channels + getattr(self.coordinate_channels, 'num_channels', 0)
        if getattr(self.decoder, 'in_channels', expected) != expected:
            raise ValueError(f'decoder.in_channels must be L + coordinate channels = {expected} '
                             f'(L = appearance_encoder.out_channels = {appearance_channels}), got '
                             f'{self.decoder.in_channels}')
        factor = getattr(self.decoder, 'upsample_factor', stride)
        if factor != stride:
            raise ValueError(f'decoder upsamples x{factor} (decoder.upsample_blocks) but the '
                             f'encoders downsample x{stride} (shape_encoder.strides, '
                             f'appearance_encoder.strides, stem_pool): the reconstruction would '
                             f'not have the image size')

        self.reconstruction_loss = MODELS.build(reconstruction_loss)
        # K and L are set once (num_parts, the appearance encoder): the classification loss gets
        # them from here; a value also given in its config must agree
        num_classes = num_parts + 1 if self.classify_background else num_parts
        classification_loss = dict(classification_loss)
        for key, value in (('num_classes', num_classes), ('in_channels', appearance_channels)):
            found = classification_loss.setdefault(key, value)
            if found != value:
                raise ValueError(f'model.classification_loss.{key}={found} contradicts '
                                 f'model.num_parts={num_parts}, model.classify_background='
                                 f'{self.classify_background} and L={appearance_channels} '
                                 f'(appearance_encoder.out_channels), which give {key}={value}: '
                                 f'remove model.classification_loss.{key} (it follows them)')
        self.classification_loss = MODELS.build(classification_loss)
        self.foreground_loss = MODELS.build(foreground_loss)
        self.background_loss = MODELS.build(background_loss)

        if init_std is not None:
            for net in (self.shape_encoder, self.appearance_encoder, self.part_head, self.decoder):
                initialize(net, gaussian_init_cfg(init_std))

    @staticmethod
    def _encoder_attrs(encoder: nn.Module, key: str) -> Tuple[int, int]:
        if not (hasattr(encoder, 'out_channels') and hasattr(encoder, 'output_stride')):
            raise TypeError(f'{key} ({type(encoder).__name__}) must expose out_channels and '
                            f'output_stride, as TruncatedResNet does')
        return encoder.out_channels, encoder.output_stride

    def _check_images(self, images: Tensor, key: str = 'inputs', reconstruct: bool = True) -> None:
        """Images of at least MIN_MAP_SIZE map cells; divisible by the stride to reconstruct."""
        h, w = images.shape[-2:]
        stride, min_size = self.output_stride, MIN_MAP_SIZE * self.output_stride
        if h < min_size or w < min_size:
            raise ValueError(f'{key}: image size {h}x{w} is smaller than DisPart needs: at least '
                             f'{min_size} px ({MIN_MAP_SIZE} x the encoders\' output stride '
                             f'{stride}, set by shape_encoder.strides / stem_pool)')
        if reconstruct and (h % stride or w % stride):
            raise ValueError(f'{key}: image size {h}x{w} not supported: reconstruction needs '
                             f'height and width divisible by the encoders\' output stride '
                             f'{stride}')

    def _part_logits(self, images: Tensor) -> Tensor:
        return self.part_head(self.shape_encoder(images))  # (N, 3, H, W) -> (N, K+1, h, w)

    def part_logits(self, inputs: Tensor) -> Tensor:
        """(B, 3, H, W) normalised images -> (B, K+1, ceil(H/s), ceil(W/s)) logits, s = stride."""
        if inputs.dim() != 4:
            raise ValueError(f'inputs must be (B, 3, H, W) images, got {tuple(inputs.shape)}')
        self._check_images(inputs, reconstruct=False)
        return self._part_logits(inputs)

    def encode(self, images: Tensor) -> Tuple[Tensor, Tensor]:
        """Eq. (1)-(2): (N, 3, H, W) -> part maps S (N, K+1, h, w), part features F (N, K+1, L)."""
        # softmax in fp32 also under autocast (a no-op cast otherwise)
        part_maps = self._part_logits(images).float().softmax(dim=1)  # S: (N, K+1, h, w)
        appearance = self.appearance_encoder(images)  # A: (N, L, h, w)
        if appearance.shape[-2:] != part_maps.shape[-2:]:
            raise ValueError(f'appearance_encoder maps {tuple(appearance.shape[-2:])} != '
                             f'shape_encoder maps {tuple(part_maps.shape[-2:])}: the two encoders '
                             f'must give maps of the same size')
        return part_maps, self.bottleneck.squeeze(part_maps, appearance)

    def render(self, part_features: Tensor, part_maps: Tensor, image_size: Tuple[int,
                                                                                 int]) -> Tensor:
        """Eq. (3)-(4): F (N, K+1, L) in the shape S (N, K+1, h, w) -> x_hat (N, 3, H, W)."""
        rendered = self.bottleneck.expand(part_features, part_maps)  # (N, L, h, w)
        images = self.decoder(self.coordinate_channels(rendered))  # (N, L+2, h, w) -> (N, 3, H, W)
        if tuple(images.shape[-2:]) != tuple(image_size):
            raise ValueError(f'decoder output {tuple(images.shape[-2:])} != image size '
                             f'{tuple(image_size)}: decoder.upsample_blocks must upsample by the '
                             f'encoders\' output stride {self.output_stride}')
        return images

    def loss(self,
             inputs: Tensor,
             data_samples: Optional[List[PartDataSample]] = None) -> Dict[str, Tensor]:
        """Eq. (12) terms on TPS pairs (B, 2, 3, H, W): loss_rec, loss_cls, loss_fg, loss_bg."""
        views = TPSPairPreprocessor.num_views
        if inputs.dim() != 5 or inputs.shape[1] != views:
            raise ValueError(f'DisPart.loss expects inputs (B, 2, 3, H, W), the TPS pairs of '
                             f'TPSPairPreprocessor in training mode, got {tuple(inputs.shape)}')
        b, _, c, h, w = inputs.shape
        self._check_images(inputs)
        images = inputs.transpose(0, 1).reshape(views * b, c, h, w)  # view-major (2B, 3, H, W)
        chunks = views if self.view_batching == 'separate' else 1
        encoded = [self.encode(part) for part in images.chunk(chunks)]
        part_maps = torch.cat([maps for maps, _ in encoded])  # (2B, K+1, h, w)
        features = torch.cat([feats for _, feats in encoded])  # (2B, K+1, L)
        # The other view's features: F(2) rendered in S(1), F(1) in S(2).
        swapped = features.view(views, b, *features.shape[1:]).flip(0).reshape(features.shape)
        recon = torch.cat([
            self.render(feats, maps, (h, w))
            for feats, maps in zip(swapped.chunk(chunks), part_maps.chunk(chunks))
        ])  # (2B, 3, H, W)

        mask = None
        if self.masked_reconstruction:
            if data_samples is None or not all(TPS_MASK_KEY in s for s in data_samples):
                raise KeyError(f'masked_reconstruction=True needs the data samples\' '
                               f'{TPS_MASK_KEY!r} field set by TPSPairPreprocessor')
            masks = torch.stack([s.get(TPS_MASK_KEY).data for s in data_samples])  # (B, 2, H, W)
            mask = masks.to(images).transpose(0, 1).reshape(views * b, 1, h, w)

        to_unit = self.data_preprocessor.to_unit_range
        cls_features = features if self.classify_background else features[:, 1:]
        terms = dict(
            loss_rec=(lambda pred, target, m: self.reconstruction_loss(pred, target, mask=m),
                      (to_unit(recon), to_unit(images), mask)),
            loss_cls=(self.classification_loss, (cls_features, )),
            loss_fg=(self.foreground_loss, (part_maps, )),
            loss_bg=(self.background_loss, (part_maps, )))
        if not self.per_view_losses:
            return {key: views * fn(*args) for key, (fn, args) in terms.items()}
        # each view-major (2B, ...) tensor -> its views' (B, ...) halves; a None mask stays None.
        # The second view first, as the official code calls its losses (x(2) vs its
        # reconstruction, then x(1)): the running perceptual weights refresh between calls.
        return {
            key:
            sum(
                fn(*[None if arg is None else arg.chunk(views)[v] for arg in args])
                for v in reversed(range(views)))
            for key, (fn, args) in terms.items()
        }

    def swap_appearance(self, appearance_images: Tensor, shape_images: Tensor) -> Tensor:
        """Appearance transfer, Liu et al. 2021 Sec. 4.4: appearance of one image, shape of another.

        Row i renders ``appearance_images[i]``'s part features in ``shape_images[i]``'s part maps.

        Both (B, 3, H, W) normalised images of the same size; returns (B, 3, H, W) RGB in [0, 1].
        Run it in eval mode (BN running statistics) and under ``torch.no_grad()`` for display.
        """
        if appearance_images.dim() != 4 or appearance_images.shape != shape_images.shape:
            raise ValueError(f'appearance_images {tuple(appearance_images.shape)} and '
                             f'shape_images {tuple(shape_images.shape)} must be (B, 3, H, W) of '
                             f'the same shape')
        self._check_images(appearance_images, 'appearance_images')
        b = appearance_images.shape[0]
        part_maps, features = self.encode(torch.cat((appearance_images, shape_images)))
        recon = self.render(features[:b], part_maps[b:], appearance_images.shape[-2:])
        return self.data_preprocessor.to_unit_range(recon).clamp(0, 1)
