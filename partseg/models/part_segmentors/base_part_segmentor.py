"""What every partseg part segmentor shares: K, and turning part logits into data samples."""
from abc import abstractmethod
from typing import Dict, List, Optional

import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from torch import Tensor

from partseg.structures import PartDataSample


def check_num_parts(num_parts, key: str = 'num_parts') -> int:
    """Validate K (the number of foreground parts) with a one-line error naming the key."""
    if isinstance(num_parts, bool) or not isinstance(num_parts, int) or num_parts <= 0:
        raise ValueError(f'{key} must be a positive integer (K >= 1), got {num_parts!r}')
    return num_parts


class BasePartSegmentor(BaseModel):
    """Base of part segmentors: K foreground parts + background, predictions as data samples.

    Subclasses implement ``loss`` and ``part_logits(inputs) -> (B, K+1, h, w)``; ``predict`` and
    ``_forward`` come from here, so every method hands the metrics the same fields.
    """

    def __init__(self, num_parts: int, data_preprocessor=None, init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.num_parts = check_num_parts(num_parts)

    @abstractmethod
    def part_logits(self, inputs: Tensor) -> Tensor:
        """(B, 3, H, W) normalised images -> (B, K+1, h, w) part logits, channel 0 = background."""

    @abstractmethod
    def loss(self, inputs: Tensor, data_samples: Optional[List[PartDataSample]]) -> Dict[str, Tensor]:
        """Training losses of one batch, named ``loss_*`` so MMEngine sums and logs them."""

    def forward(self, inputs: Tensor, data_samples: Optional[List[PartDataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.part_logits(inputs)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def predict(self, inputs: Tensor,
                data_samples: Optional[List[PartDataSample]] = None) -> List[PartDataSample]:
        return self.postprocess(self.part_logits(inputs), data_samples)

    def postprocess(self, logits: Tensor,
                    data_samples: Optional[List[PartDataSample]] = None) -> List[PartDataSample]:
        """Resize (B, K+1, h, w) logits to each sample's ``img_shape``; fill seg_logits/pred_sem_seg."""
        if data_samples is None:
            data_samples = [PartDataSample(metainfo=dict(img_shape=logits.shape[-2:]))
                            for _ in range(logits.shape[0])]
        for logit, sample in zip(logits, data_samples):
            h, w = sample.metainfo.get('img_shape', logit.shape[-2:])[:2]
            if logit.shape[-2:] != (h, w):
                logit = F.interpolate(logit[None], size=(h, w), mode='bilinear',
                                      align_corners=False)[0]
            sample.seg_logits = PixelData(data=logit)
            sample.pred_sem_seg = PixelData(data=logit.argmax(0, keepdim=True))
        return data_samples
