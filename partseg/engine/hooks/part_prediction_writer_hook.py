"""PartPredictionWriterHook: writes every test prediction to disk (``tools/test.py --out``)."""
import json
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from PIL import Image

from partseg.registry import HOOKS
from partseg.utils.part_geometry import part_centroids


@HOOKS.register_module()
class PartPredictionWriterHook(Hook):
    """Saves, per test image, its label map and its part centroids (Liu et al. 2021 Eq. 8).

    For an image ``<stem>.<ext>`` it writes ``<out_dir>/<stem>.png``, an 8-bit label map
    (0 = background, k = part k, at the image's size), and at the end of the test
    ``<out_dir>/centroids.json``: ``{stem: {"img_path", "img_shape", "centroids"}}`` where
    ``centroids[k - 1]`` is the (x, y) pixel position of part k's centroid, computed from the
    softmax of the predicted part logits (background excluded). Under DDP every rank writes its own
    images and ``centroids.rank<r>.json``.

    Args:
        out_dir (str): output folder, created if missing.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str) -> None:
        if not isinstance(out_dir, str) or not out_dir:
            raise ValueError(f'out_dir must be a non-empty path, got {out_dir!r}')
        self.out_dir = out_dir
        self._centroids = {}

    def before_test(self, runner) -> None:
        try:
            os.makedirs(self.out_dir, exist_ok=True)
        except OSError as error:
            raise OSError(f'cannot create output folder {self.out_dir}: {error.strerror}') from None
        self._centroids = {}

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: dict = None,
                        outputs: Optional[Sequence] = None) -> None:
        for index, sample in enumerate(outputs or []):
            img_path = sample.metainfo.get('img_path')
            # in-memory images are named by position; under DDP by rank too (ranks share out_dir)
            rank = f'rank{get_rank()}_' if get_world_size() > 1 else ''
            stem = (
                osp.splitext(osp.basename(img_path))[0]
                if img_path else f'{rank}{batch_idx:06d}_{index:03d}')
            stem = self._unique(stem)
            labels = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)  # (H, W)
            Image.fromarray(labels).save(osp.join(self.out_dir, f'{stem}.png'))
            logits = sample.seg_logits.data.float()  # (K+1, H, W)
            h, w = logits.shape[-2:]
            centres = part_centroids(logits.softmax(0)[None, 1:])[0]  # (K, 2) in (0, 1)
            centres = centres.cpu().numpy() * np.array([w, h])
            self._centroids[stem] = dict(
                img_path=img_path, img_shape=[h, w], centroids=centres.round(3).tolist())

    def _unique(self, stem: str) -> str:
        if stem not in self._centroids:
            return stem
        suffix = 1
        while f'{stem}_{suffix}' in self._centroids:
            suffix += 1
        return f'{stem}_{suffix}'

    def after_test(self, runner) -> None:
        name = 'centroids.json' if get_world_size() == 1 else f'centroids.rank{get_rank()}.json'
        with open(osp.join(self.out_dir, name), 'w') as f:
            json.dump(self._centroids, f, indent=1)
