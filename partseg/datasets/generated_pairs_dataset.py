"""Image / part-mask pairs sampled from a frozen GANSeg generator: the training data of GANSeg's
stage-2 segmenter, He et al. 2022 Sec. 3 ("we generate mask-image pairs to train DeepLab V3")."""
import copy
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import BaseDataset
from torch.utils.data import get_worker_info

from partseg.registry import DATASETS, MODELS
from partseg.utils.checks import check_int

CHECKPOINT_KEY = 'train_dataloader.dataset.checkpoint'
STAGE1_CONFIG_KEY = 'train_dataloader.dataset.stage1_config'
GENERATOR_KEY = 'train_dataloader.dataset.generator'
RESAMPLE_MODES = ('epoch', 'never')


def sample_seed(seed: int, index: int) -> int:
    """The 32-bit torch seed of pair ``index`` of the dataset with base seed ``seed``."""
    return int(np.random.SeedSequence((seed, index)).generate_state(1)[0])


@DATASETS.register_module()
class GeneratedPairsDataset(BaseDataset):
    """Pairs (image, part labels) sampled from a trained, frozen stage-1 GANSeg generator.

    The dataset is ``num_epochs`` passes of ``num_samples`` pairs (``len = num_samples ·
    num_epochs``). Pair ``g`` is drawn from its own seed :func:`sample_seed` ``(seed, g)``, so it
    depends on nothing else (batch size, device, worker, order of fetching):

    - ``resample='epoch'`` (the official code, default): every pass has fresh pairs; pass ``e``
      holds pairs ``e·N … (e+1)·N − 1``. Pairs are generated when fetched, never stored: a
      DataLoader batch is generated in one generator pass (:meth:`__getitems__`). The official
      ``train_seg.py`` draws 64,000 new pairs for each of its 10 epochs, i.e. 640,000 pairs each
      seen once; ``num_samples=64000, num_epochs=10`` under mmengine's ``InfiniteSampler`` (a
      seeded permutation of all indices per pass over the dataset) shows each of the same
      640,000 pairs once in 10,000 iterations of 64. Resume (``IterBasedTrainLoop`` replays the
      sampler) sees exactly the same pairs.
    - ``resample='never'``: one pool of ``num_samples`` pairs (pass 0's) is sampled when the
      dataset is initialised and kept in memory (``4 · S² · num_samples`` bytes); index ``g`` is
      pool pair ``g mod N``, so every pass repeats it.

    The generator is built from the stage-1 *config the user gives* (``stage1_config``, a config
    file read like any other, or the ``generator`` dict), loaded weights-only from the stage-1
    checkpoint and run in eval mode (BatchNorm running statistics, as the official code does).
    Nothing of the checkpoint but its tensors is used: the config text MMEngine stores in
    ``meta['cfg']`` is Python code and is never read (a crafted checkpoint could otherwise run
    code). Each entry is

    - ``img``: (S, S, 3) uint8 RGB, the generated image mapped from [-1, 1] to [0, 255];
    - ``gt_seg_map``: (S, S) uint8, the argmax of the K+1 generated masks (0 = background,
      1..K the parts), the official code's labels;
    - ``sample_idx``: ``g``.

    Args:
        checkpoint (str): the stage-1 checkpoint (``tools/train.py`` of a ``configs/ganseg``
            stage-1 config writes ``work_dirs/<config>/iter_N.pth``).
        num_parts (int): K of the stage-2 config; must equal the generator's K (one-line
            ValueError naming both otherwise).
        stage1_config (str, optional): the stage-1 config file (e.g.
            ``configs/ganseg/cub_k8.py``); its ``model.generator`` is the generator. The
            ``configs/ganseg/*_stage2.py`` configs name their stage-1 config.
        generator (dict, optional): the stage-1 generator config itself; takes precedence over
            ``stage1_config``. One of the two is required.
        num_samples (int): pairs per pass (official: 64,000).
        resample (str): ``'epoch'`` (fresh pairs every pass, official) or ``'never'`` (one pool).
        num_epochs (int): passes in the dataset (official: 10); past them mmengine's
            ``InfiniteSampler`` starts over with the same pairs.
        batch_size (int): generator batch size while sampling.
        seed (int): base seed of the pairs.
        device (str): where to run the generator: 'cpu', 'cuda', 'cuda:N' or 'auto' (CUDA when
            available in this process; DataLoader worker processes use the CPU). CUDA cannot be
            used in worker processes: with ``resample='epoch'`` on a GPU set ``num_workers=0``.
        use_ema (bool): sample with the EMA generator stored in the checkpoint
            (``GANSeg(ema_momentum=...)``); KeyError if there is none.
        pipeline, test_mode, lazy_init, max_refetch: as :class:`~mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(classes=None)

    def __init__(self,
                 checkpoint: Optional[str],
                 num_parts: int,
                 stage1_config: Optional[str] = None,
                 generator: Optional[dict] = None,
                 num_samples: int = 64000,
                 resample: str = 'epoch',
                 num_epochs: int = 10,
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
        check_int(seed, 'seed', 0, owner='GeneratedPairsDataset')
        if resample not in RESAMPLE_MODES:
            raise ValueError(f'GeneratedPairsDataset: resample must be one of {RESAMPLE_MODES}, '
                             f'got {resample!r}')
        if generator is None and not stage1_config:
            raise ValueError(f'GeneratedPairsDataset: neither {STAGE1_CONFIG_KEY} nor '
                             f'{GENERATOR_KEY} is set; name the stage-1 config that trained '
                             f'{checkpoint} (e.g. --cfg-options {STAGE1_CONFIG_KEY}='
                             'configs/ganseg/cub_k8.py); the config text stored in a checkpoint '
                             'is code and is never run')
        if generator is not None and not isinstance(generator, dict):
            raise TypeError(f'GeneratedPairsDataset: {GENERATOR_KEY} must be a dict (a generator '
                            f'config), got {type(generator).__name__}')
        self.checkpoint = str(checkpoint)
        self.stage1_config = None if stage1_config is None else str(stage1_config)
        self.num_parts = check_int(num_parts, 'num_parts', 1, owner='GeneratedPairsDataset')
        self.num_samples = check_int(num_samples, 'num_samples', 1, owner='GeneratedPairsDataset')
        self.num_epochs = check_int(num_epochs, 'num_epochs', 1, owner='GeneratedPairsDataset')
        self.generation_batch_size = check_int(
            batch_size, 'batch_size', 1, owner='GeneratedPairsDataset')
        self.resample = resample
        self.generator_cfg = copy.deepcopy(generator)
        self.seed = seed
        self.device = device
        self.use_ema = use_ema
        self.images: Optional[np.ndarray] = None  # (N, S, S, 3) uint8, resample='never'
        self.labels: Optional[np.ndarray] = None  # (N, S, S) uint8, resample='never'
        self._generator: Optional[torch.nn.Module] = None  # on the CPU, resample='epoch'
        self._device_generator: Optional[Tuple[torch.device, torch.nn.Module]] = None
        self._fetched: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}  # the current batch's pairs
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
        in_worker = get_worker_info() is not None
        if self.device == 'auto':
            return torch.device('cuda' if torch.cuda.is_available() and not in_worker else 'cpu')
        device = torch.device(self.device)
        if device.type == 'cuda' and in_worker:
            raise ValueError(f"GeneratedPairsDataset: device='{self.device}' cannot run in a "
                             'DataLoader worker process; set train_dataloader.num_workers=0 '
                             "(or train_dataloader.dataset.device='auto' to generate on the CPU)")
        return device

    def load_generator(self) -> torch.nn.Module:
        """The stage-1 generator with the checkpoint's weights, in eval mode, on the CPU."""
        from partseg.engine.checkpoint import safe_load  # engine imports datasets: import late
        ckpt = safe_load(self.checkpoint, map_location='cpu')
        if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
            raise KeyError(f'{self.checkpoint}: not an MMEngine checkpoint (no state_dict)')
        state = ckpt['state_dict']
        cfg, source = self._generator_config()
        cfg = copy.deepcopy(dict(cfg))
        cfg['init_cfg'] = None
        prefix = 'generator_ema.module.' if self.use_ema else 'generator.'
        weights = {
            key[len(prefix):]: value
            for key, value in state.items() if key.startswith(prefix)
        }
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
        try:
            generator.load_state_dict(weights, strict=True)
        except RuntimeError as error:
            first = ' '.join(str(error).split())[:300]
            raise ValueError(f'GeneratedPairsDataset: the generator weights in {self.checkpoint} '
                             f'do not fit the generator of {source} ({first}); name the stage-1 '
                             'config that trained this checkpoint') from None
        return generator.eval()

    def _generator_config(self) -> Tuple[dict, str]:
        """The generator config and where it came from (for messages), from the user's config.

        Never from the checkpoint: its ``meta['cfg']`` is config *code*, which is not executed.
        """
        if self.generator_cfg is not None:
            return self.generator_cfg, GENERATOR_KEY
        path = self.stage1_config
        if not osp.isfile(path):
            raise FileNotFoundError(f'{STAGE1_CONFIG_KEY}: stage-1 config not found: {path}')
        model_cfg = Config.fromfile(path).get('model') or {}
        if 'generator' not in model_cfg:
            raise KeyError(f'{STAGE1_CONFIG_KEY}: {path} has no model.generator; is it a GANSeg '
                           'stage-1 config?')
        cfg = model_cfg['generator']
        if model_cfg.get('num_parts') is not None:  # K set on the model, passed on by GANSeg
            cfg = dict(cfg, num_parts=model_cfg['num_parts'])
        return cfg, path

    def _generator_on_device(self) -> torch.nn.Module:
        """The generator on this process's device (a copy made once per process and device)."""
        if self._generator is None:
            self._generator = self.load_generator()
        device = self._device()
        if device.type == 'cpu':
            return self._generator
        if self._device_generator is None or self._device_generator[0] != device:
            self._device_generator = (device, copy.deepcopy(self._generator).to(device))
        return self._device_generator[1]

    @torch.no_grad()
    def generate(self,
                 indices: Sequence[int],
                 progress: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
        """(n, S, S, 3) uint8 images and (n, S, S) uint8 labels of pairs ``indices``.

        Pair ``g`` comes from the seed ``sample_seed(seed, g)``, in generator batches of
        ``batch_size``; with ``progress`` (a description), a progress bar counts the batches.
        """
        from mmengine.dist import is_main_process

        from partseg.models.part_segmentors.ganseg import sample_seeded_noise
        from partseg.utils.progress import track
        generator = self._generator_on_device()
        device = next(generator.parameters()).device
        images, labels = [], []
        starts = range(0, len(indices), self.generation_batch_size)
        if progress is not None:
            starts = track(starts, progress, len(starts), enabled=is_main_process())
        for start in starts:
            seeds = [
                sample_seed(self.seed, int(g))
                for g in indices[start:start + self.generation_batch_size]
            ]
            out = generator(sample_seeded_noise(generator, seeds, device))
            image = ((out['image'] + 1) * 127.5).round().clamp(0, 255)  # (B, 3, S, S) in [0, 255]
            images.append(image.to(torch.uint8).permute(0, 2, 3, 1).cpu())  # (B, S, S, 3)
            labels.append(out['masks'].argmax(1).to(torch.uint8).cpu())  # (B, S, S)
        return torch.cat(images).numpy(), torch.cat(labels).numpy()

    # ------------------------------------------------------------------ dataset
    def load_data_list(self) -> List[dict]:
        """Loads the generator; with ``resample='never'`` samples the pool and drops it."""
        self._generator = self.load_generator()
        self._device_generator = None
        if self.resample == 'never':
            self.images, self.labels = self.generate(
                range(self.num_samples), progress=f'generating {self.num_samples} pairs (batches)')
            self._generator = self._device_generator = None
        return []  # entries are made by get_data_info

    def __len__(self) -> int:
        return self.num_samples * self.num_epochs

    def _check_index(self, idx: int) -> int:
        if not -len(self) <= idx < len(self):
            raise IndexError(f'GeneratedPairsDataset: index {idx} out of range for '
                             f'{len(self)} pairs')
        return int(idx) % len(self)

    def get_data_info(self, idx: int) -> dict:
        idx = self._check_index(idx)
        if self.resample == 'never':
            image, label = self.images[idx % self.num_samples], self.labels[idx % self.num_samples]
        elif idx in self._fetched:
            image, label = self._fetched[idx]
        else:
            images, labels = self.generate([idx])
            image, label = images[0], labels[0]
        return dict(img=image, gt_seg_map=label, sample_idx=idx)

    def __getitems__(self, indices: Sequence[int]) -> List[dict]:
        """A DataLoader batch: its new pairs in one generator pass, then the pipeline per pair."""
        if not self._fully_initialized:
            self.full_init()
        if self.resample == 'epoch':
            wanted = list(dict.fromkeys(self._check_index(i) for i in indices))
            images, labels = self.generate(wanted)
            self._fetched = {g: (images[i], labels[i]) for i, g in enumerate(wanted)}
        try:
            return [self[idx] for idx in indices]
        finally:
            self._fetched = {}
