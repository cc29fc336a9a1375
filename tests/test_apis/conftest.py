"""A tiny DisPart checkpoint with input-dependent parts, and a folder of images to segment."""
import os.path as osp
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from partseg.apis import init_model

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DISPART_TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'dispart_tiny.py')
SEGMENTER_TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'ganseg_segmenter_tiny.py')


def make_checkpoint(config: str, path: str, seed: int = 0) -> str:
    """Save a freshly built model in MMEngine's checkpoint format, its parts made non-trivial.

    Conv weights get PyTorch's default init and BN running statistics are those of two random
    batches, so the part logits are O(1) and depend on the image (the configs' Gaussian init with
    std 0.01 gives nearly uniform part maps).
    """
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = init_model(config)
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.reset_parameters()
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(2):
            images = torch.randint(0, 256, (4, 3, 32, 32)).float()
            model(
                model.data_preprocessor(dict(inputs=list(images)), False)['inputs'], mode='tensor')
    torch.save(dict(meta=dict(dataset_meta=dict(num_parts=4)), state_dict=model.state_dict()), path)
    return path


@pytest.fixture(scope='session')
def checkpoint_factory():
    """make_checkpoint(config, path, seed=0) -> path."""
    return make_checkpoint


@pytest.fixture(scope='session')
def config_paths():
    """{'dispart': tiny DisPart config, 'segmenter': tiny GANSeg stage-2 segmenter config}."""
    return dict(dispart=DISPART_TINY, segmenter=SEGMENTER_TINY)


@pytest.fixture(scope='session')
def dispart_checkpoint(tmp_path_factory):
    return make_checkpoint(DISPART_TINY, str(tmp_path_factory.mktemp('ckpt') / 'dispart.pth'))


@pytest.fixture(scope='session')
def dispart_model(dispart_checkpoint):
    return init_model(DISPART_TINY, dispart_checkpoint)


def random_images(seed: int = 0):
    """Three RGB uint8 images: two 32x32 and one 40x48 (H x W)."""
    rng = np.random.default_rng(seed)
    shapes = ((32, 32, 3), (32, 32, 3), (40, 48, 3))
    return [rng.integers(0, 256, shape, dtype=np.uint8) for shape in shapes]


@pytest.fixture(scope='session')
def images():
    """random_images(seed) -> three RGB uint8 arrays: two 32x32 and one 40x48 (H x W)."""
    return random_images


@pytest.fixture
def image_folder(tmp_path):
    """tmp_path/images with img0.png .. img2.png (random_images) and a notes.txt."""
    folder = tmp_path / 'images'
    folder.mkdir()
    for index, image in enumerate(random_images()):
        Image.fromarray(image).save(folder / f'img{index}.png')
    (folder / 'notes.txt').write_text('not an image')
    return folder
