"""What every partseg part segmentor shares: K, and turning part logits into data samples."""
from abc import abstractmethod
from typing import Dict, List, Optional, Sequence

import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from torch import Tensor

from partseg.structures import PartDataSample
from partseg.utils.checks import check_int
from partseg.utils.pretrained_weights import MissingPretrainedWeightsError


def check_num_parts(num_parts, key: str = 'num_parts') -> int:
    """Validate K (the number of foreground parts) with a one-line error naming the key."""
    return check_int(num_parts, key, 1, hint='K >= 1')


class BasePartSegmentor(BaseModel):
    """Base of part segmentors: K foreground parts + background, predictions as data samples.

    Subclasses implement ``loss`` and ``part_logits(inputs) -> (B, K+1, h, w)``; ``predict`` and
    ``forward`` come from here, so every method hands the metrics the same fields.
    """

    def __init__(self, num_parts: int, data_preprocessor=None, init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.num_parts = check_num_parts(num_parts)

    def init_weights(self) -> None:
        """MMEngine's ``init_weights``; missing pretrained weights of a sub-module are reported
        with their full config key (``model.<attribute path>.pretrained``)."""
        try:
            super().init_weights()
        except MissingPretrainedWeightsError as error:
            names = [name for name, module in self.named_modules() if module is error.module]
            if not names:
                raise
            raise error.name_key(f'model.{names[0]}.pretrained') from None

    @abstractmethod
    def part_logits(self, inputs: Tensor) -> Tensor:
        """(B, 3, H, W) normalised images -> (B, K+1, h, w) part logits, channel 0 = background."""

    @abstractmethod
    def loss(self, inputs: Tensor,
             data_samples: Optional[List[PartDataSample]]) -> Dict[str, Tensor]:
        """Training losses of one batch, named ``loss_*`` so MMEngine sums and logs them."""

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List[PartDataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.part_logits(inputs)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[List[PartDataSample]] = None) -> List[PartDataSample]:
        """(B, 3, H, W) images -> data samples with ``seg_logits`` and ``pred_sem_seg``."""
        return self.postprocess(self.part_logits(inputs), data_samples, inputs.shape[-2:])

    def postprocess(self,
                    logits: Tensor,
                    data_samples: Optional[List[PartDataSample]] = None,
                    input_size: Optional[Sequence[int]] = None) -> List[PartDataSample]:
        """Part logits at the input size, cropped to each sample's ``img_shape``.

        ``logits`` (B, K+1, h, w) are upsampled (bilinear) to ``input_size`` (H, W), the size of
        the batch the network saw (default: the logits' size), then cropped to each sample's
        metainfo ``img_shape`` (the data preprocessor pads at the bottom and right), giving
        ``seg_logits`` (K+1, H_i, W_i) and ``pred_sem_seg`` (1, H_i, W_i), the argmax over parts.
        Without ``data_samples``, new ones of ``img_shape = input_size`` are made.
        """
        input_size = tuple(logits.shape[-2:] if input_size is None else input_size)
        batch = logits.shape[0]
        if data_samples is None:
            data_samples = [
                PartDataSample(metainfo=dict(img_shape=input_size)) for _ in range(batch)
            ]
        if len(data_samples) != batch:
            raise ValueError(f'data_samples has {len(data_samples)} entries for a batch of '
                             f'{batch} images')
        if tuple(logits.shape[-2:]) != input_size:
            # (B, K+1, h, w) -> (B, K+1, H, W)
            logits = F.interpolate(logits, size=input_size, mode='bilinear', align_corners=False)
        for logit, sample in zip(logits, data_samples):
            h, w = tuple(sample.metainfo.get('img_shape', input_size))[:2]
            if h > input_size[0] or w > input_size[1]:
                raise ValueError(f'img_shape {(h, w)} of a data sample exceeds the network input '
                                 f'size {input_size}')
            logit = logit[:, :h, :w]  # drop the bottom/right padding: (K+1, H_i, W_i)
            sample.seg_logits = PixelData(data=logit)
            sample.pred_sem_seg = PixelData(data=logit.argmax(0, keepdim=True))
        return data_samples
