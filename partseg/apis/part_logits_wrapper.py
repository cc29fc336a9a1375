"""A trained segmenter as one tensor function, the form ONNX and TorchScript export need."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import Tensor

__all__ = ['PartLogitsWrapper']


class PartLogitsWrapper(nn.Module):
    """(B, 3, H, W) float RGB in [0, 255] -> (B, K+1, H, W) part logits, channel 0 = background.

    Does in one module what inference does around the network: the normalisation (and channel
    order) of the model's data preprocessor, the network's ``forward(mode='tensor')`` (part logits
    at the feature resolution: DisPart's ``part_logits``, an mmseg segmenter's decode head), and
    the bilinear upsampling to the input size of ``predict``. The softmax over channels gives the
    part maps, the argmax the labels; images are not resized, so feed them at the size the model
    was trained at (the config's ``ResizeParts`` scale) for the best parts.

    Args:
        model: a partseg part segmentor or an mmseg segmenter, in eval mode.
    """

    def __init__(self, model: BaseModel) -> None:
        super().__init__()
        preprocessor = model.data_preprocessor
        if getattr(preprocessor, '_enable_normalize', False):
            mean = preprocessor.mean.detach().float().reshape(1, -1, 1, 1)
            std = preprocessor.std.detach().float().reshape(1, -1, 1, 1)
        else:
            mean, std = torch.zeros(1, 3, 1, 1), torch.ones(1, 3, 1, 1)
        self.register_buffer('mean', mean.clone(), persistent=False)  # (1, 3, 1, 1)
        self.register_buffer('std', std.clone(), persistent=False)
        # ImgDataPreprocessor calls it _channel_conversion, mmseg's SegDataPreProcessor
        # channel_conversion: True when the network wants the channels of its inputs reversed
        self.reverse_channels = bool(
            getattr(preprocessor, '_channel_conversion', False)
            or getattr(preprocessor, 'channel_conversion', False))
        self.align_corners = bool(getattr(model, 'align_corners', False))
        self.model = model

    def forward(self, images: Tensor) -> Tensor:
        if self.reverse_channels:
            images = images.flip(1)  # RGB -> BGR
        x = (images - self.mean) / self.std
        logits = self.model(x, mode='tensor')  # (B, 3, H, W) -> (B, K+1, h, w)
        # (B, K+1, h, w) -> (B, K+1, H, W)
        return F.interpolate(
            logits, size=images.shape[-2:], mode='bilinear', align_corners=self.align_corners)
