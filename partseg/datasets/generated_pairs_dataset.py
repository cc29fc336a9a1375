"""Image / part-mask pairs sampled from a frozen GANSeg generator: the training data of GANSeg's
stage-2 segmenter, He et al. 2022 Sec. 3 ("we generate mask-image pairs to train DeepLab V3")."""
import copy
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import BaseDataset

from partseg.registry import DATASETS, MODELS

CHECKPOINT_KEY = 'train_dataloader.dataset.checkpoint'


def sample_seed(seed: int, index: int) -> int:
    """The 32-bit torch seed of pair ``index`` of the pool with base seed ``seed``."""
    return int(np.random.SeedSequence((seed, index)).generate_state(1)[0])


def _check_positive_int(value, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'GeneratedPairsDataset: {key} must be a positive integer, got {value!r}')
    return value


@DATASETS.register_module()
class GeneratedPairsDataset(BaseDataset):
    """Pairs (image, part labels) sampled once from a trained, frozen stage-1 GANSeg generator.

    Loads the generator weights from the stage-1 checkpoint (``weights_only=True``), puts the
    generator in eval mode (BatchNorm running statistics, as the official code does) and samples a
    pool of ``num_samples`` pairs on ``device`` in batches of ``batch_size``. Sample ``i`` is drawn
    from its own seed :func:`sample_seed` ``(seed, i)``, so the pool does not depend on the batch
    size or the device. Each entry is

    - ``img``: (S, S, 3) uint8 RGB, the generated image mapped from [-1, 1] to [0, 255];
    - ``gt_seg_map``: (S, S) uint8, the argmax of the K+1 generated masks (0 = background,
      1..K the parts), the official code's labels;
    - ``sample_idx``.

    The pool is made when the dataset is initialised and kept as two arrays (about
    ``4 · S² · num_samples`` bytes). The official code draws a fresh 64,000-pair pool for each of
    its 10 epochs; here one pool serves the whole run (set ``num_samples`` as memory allows).

    Args:
        checkpoint (str): the stage-1 checkpoint (``tools/train.py`` of a ``configs/ganseg``
            stage-1 config writes ``work_dirs/<config>/iter_N.pth``).
        num_parts (int): K of the stage-2 config; must equal the generator's K (one-line
            ValueError naming both otherwise).
        generator (dict, optional): the stage-1 generator config. None (default) reads
            ``model.generator`` from the config stored in the checkpoint's ``meta['cfg']``.
        num_samples (int): pairs in the pool.
        batch_size (int): generator batch size while sampling.
        seed (int): base seed of the pool.
        device (str): where to run the generator: 'cpu', 'cuda', 'cuda:N' or 'auto' (CUDA when
            available).
        use_ema (bool): sample with the EMA generator stored in the checkpoint
            (``GANSeg(ema_momentum=...)``); KeyError if there is none.
        pipeline, test_mode, lazy_init, max_refetch: as :class:`~mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(classes=None)

    def __init__(self,
                 checkpoint: Optional[str],
                 num_parts: int,
                 generator: Optional[dict] = None,
                 num_samples: int = 10000,
                 batch_size: int = 64,
                 seed: int = 0,
                 device: str = 'cpu',
                 use_ema: bool = False,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000) -> None:
        if not checkpoint:
            raise ValueError(f'GeneratedPairsDataset: {CHECKPOINT_KEY} is not set; a stage-2 '
                             'config needs the stage-1 generator checkpoint (train stage 1 first, '
                             f'then pass --cfg-options {CHECKPOINT_KEY}=PATH)')
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f'GeneratedPairsDataset: seed must be an int >= 0, got {seed!r}')
        self.checkpoint = str(checkpoint)
        self.num_parts = _check_positive_int(num_parts, 'num_parts')
        self.num_samples = _check_positive_int(num_samples, 'num_samples')
        self.generation_batch_size = _check_positive_int(batch_size, 'batch_size')
        self.generator_cfg = copy.deepcopy(generator)
        self.seed = seed
        self.device = device
        self.use_ema = use_ema
        self.images: Optional[np.ndarray] = None  # (N, S, S, 3) uint8
        self.labels: Optional[np.ndarray] = None  # (N, S, S) uint8
        names = ('background', ) + tuple(f'part{k}' for k in range(1, num_parts + 1))
        super().__init__(
            metainfo=dict(classes=names),
            pipeline=list(pipeline),
            serialize_data=False,
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)

    # ------------------------------------------------------------------ generator
    def _device(self) -> torch.device:
        if self.device == 'auto':
            return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
        return torch.device(self.device)

    def load_generator(self) -> torch.nn.Module:
        """The stage-1 generator with the checkpoint's weights, in eval mode, on ``device``."""
        from partseg.engine.checkpoint import safe_load  # engine imports datasets: import late
        ckpt = safe_load(self.checkpoint, map_location='cpu')
        if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
            raise KeyError(f'{self.checkpoint}: not an MMEngine checkpoint (no state_dict)')
        state = ckpt['state_dict']
        cfg = self.generator_cfg
        if cfg is None:
            cfg_text = ckpt.get('meta', {}).get('cfg')
            if not cfg_text:
                raise KeyError(f'{self.checkpoint}: the checkpoint stores no config (meta.cfg); '
                               'give train_dataloader.dataset.generator explicitly')
            model_cfg = Config.fromstring(cfg_text, '.py').get('model', {})
            if 'generator' not in model_cfg:
                raise KeyError(f'{self.checkpoint}: its config has no model.generator; is it a '
                               'GANSeg stage-1 checkpoint?')
            cfg = model_cfg['generator']
        cfg = copy.deepcopy(dict(cfg))
        cfg['init_cfg'] = None
        prefix = 'generator_ema.module.' if self.use_ema else 'generator.'
        weights = {key[len(prefix):]: value for key, value in state.items()
                   if key.startswith(prefix)}
        if not weights:
            what = 'an EMA generator (generator_ema.*)' if self.use_ema else 'generator weights'
            raise KeyError(f'{self.checkpoint}: the checkpoint holds no {what}')
        part_count = state.get('part_count')
        stored_k = int(part_count) if part_count is not None else cfg.get('num_parts')
        if stored_k != self.num_parts or cfg.get('num_parts') != self.num_parts:
            raise ValueError(f'GeneratedPairsDataset: num_parts={self.num_parts} (K of the stage-2 '
                             f'config) but the stage-1 generator in {self.checkpoint} has '
                             f'K={stored_k}; use the stage-2 config of the same K')
        generator = MODELS.build(cfg)
        generator.load_state_dict(weights, strict=True)
        return generator.to(self._device()).eval()

    @torch.no_grad()
    def sample_pool(self, generator: torch.nn.Module):
        """(N, S, S, 3) uint8 images and (N, S, S) uint8 labels, drawn sample by sample seed."""
        from partseg.models.part_segmentors.ganseg import sample_seeded_noise
        device = next(generator.parameters()).device
        images, labels = [], []
        for start in range(0, self.num_samples, self.generation_batch_size):
            stop = min(start + self.generation_batch_size, self.num_samples)
            seeds = [sample_seed(self.seed, i) for i in range(start, stop)]
            out = generator(sample_seeded_noise(generator, seeds, device))
            image = ((out['image'] + 1) * 127.5).round().clamp(0, 255)  # (B, 3, S, S) in [0, 255]
            images.append(image.to(torch.uint8).permute(0, 2, 3, 1).cpu())  # (B, S, S, 3)
            labels.append(out['masks'].argmax(1).to(torch.uint8).cpu())  # (B, S, S)
        return torch.cat(images).numpy(), torch.cat(labels).numpy()

    # ------------------------------------------------------------------ dataset
    def load_data_list(self) -> List[dict]:
        self.images, self.labels = self.sample_pool(self.load_generator())
        return [dict(sample_idx=i) for i in range(self.num_samples)]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        i = info['sample_idx']
        info['img'] = self.images[i]
        info['gt_seg_map'] = self.labels[i]
        return info
