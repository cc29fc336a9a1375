"""AppearanceSwapHook: the Fig. 5 grid of a tiny DisPart, its files and its refusals."""
import copy
import itertools
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.visualization import Visualizer
from PIL import Image
from torch import nn

from partseg.engine.hooks import AppearanceSwapHook
from partseg.registry import HOOKS, MODELS

ROOT = Path(__file__).resolve().parents[3]
TINY = Config.fromfile(str(ROOT / 'tests' / 'data' / 'configs' / 'dispart_tiny.py'))
SIZE = 32
_runs = itertools.count()


@pytest.fixture(autouse=True)
def clean_managers():
    managers = (DefaultScope, MessageHub, Visualizer)
    for manager in managers:
        manager._instance_dict.clear()
    with DefaultScope.overwrite_default_scope('partseg'):
        yield
    for manager in managers:
        manager._instance_dict.clear()


@pytest.fixture(scope='module')
def dispart():
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('partseg'):
        model = MODELS.build(copy.deepcopy(TINY.model))
    # DisPart's N(0, 0.01) init renders every image flat grey: re-draw the weights so that the
    # reconstructions and swaps differ between images and the part maps have parts.
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(module.weight)
            if module.bias is not None:
                nn.init.normal_(module.bias, std=0.5)
    return model.eval()


def normalised(num: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(num, 3, SIZE, SIZE, generator=generator)  # (N, 3, H, W)


def as_uint8(images: torch.Tensor) -> np.ndarray:
    """(M, 3, H, W) in [0, 1] -> (M, H, W, 3) uint8."""
    return (images * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def tile(grid: np.ndarray, row: int, col: int, size: int = SIZE) -> np.ndarray:
    return grid[row * size:(row + 1) * size, col * size:(col + 1) * size]


def test_grid_layout_diagonal_and_swaps(dispart):
    hook = AppearanceSwapHook(num_images=3, min_tile_size=SIZE)
    x = normalised(3)
    with torch.no_grad():
        grid = hook.render(dispart, x)
        recon = as_uint8(dispart.swap_appearance(x, x))  # plain reconstructions
        swap_01 = as_uint8(dispart.swap_appearance(x[:1], x[1:2]))[0]  # x_0's look, x_1's shape
        originals = as_uint8(dispart.data_preprocessor.to_unit_range(x).clamp(0, 1))
        labels = dispart.postprocess(dispart.part_logits(x), None, (SIZE, SIZE))
    # header row, part-map row, then 3 rows of swaps; 1 + 3 columns
    assert grid.shape == ((2 + 3) * SIZE, (1 + 3) * SIZE, 3) and grid.dtype == np.uint8
    assert (tile(grid, 0, 0) == 255).all() and (tile(grid, 1, 0) == 255).all()  # blank corner
    for i in range(3):
        np.testing.assert_array_equal(tile(grid, 0, 1 + i), originals[i])  # shape images
        np.testing.assert_array_equal(tile(grid, 2 + i, 0), originals[i])  # appearance images
        diagonal = tile(grid, 2 + i, 1 + i).astype(int)
        assert np.abs(diagonal - recon[i]).max() <= 1  # batch size may change float rounding
    assert np.abs(tile(grid, 2, 2).astype(int) - swap_01).max() <= 1
    assert not np.array_equal(tile(grid, 2, 1), tile(grid, 2, 2))  # swaps differ from recon
    # part-map row: background pixels are the image, part pixels are blended with the palette
    for i in range(3):
        label = labels[i].pred_sem_seg.data[0].numpy()  # (H, W)
        overlay = tile(grid, 1, 1 + i)
        np.testing.assert_array_equal(overlay[label == 0], originals[i][label == 0])
        if (label > 0).any():
            assert not np.array_equal(overlay[label > 0], originals[i][label > 0])


def test_tiles_are_enlarged_and_part_row_optional(dispart):
    hook = AppearanceSwapHook(num_images=2, min_tile_size=50, draw_parts=False)
    with torch.no_grad():
        grid = hook.render(dispart, normalised(2))
    assert grid.shape == (3 * 2 * SIZE, 3 * 2 * SIZE, 3)  # scale ceil(50 / 32) = 2
    top_left = tile(grid, 1, 0, 2 * SIZE)  # first appearance image, each pixel 2 x 2
    np.testing.assert_array_equal(top_left[::2, ::2], top_left[1::2, 1::2])


class Recorder:

    def __init__(self) -> None:
        self.images = []

    def add_image(self, name, image, step=0) -> None:
        self.images.append((name, image, step))


def test_draw_uses_eval_mode_and_restores_training(dispart):
    hook = AppearanceSwapHook(num_images=2, min_tile_size=SIZE)
    model = copy.deepcopy(dispart).train()
    seen_modes = []
    model.register_forward_pre_hook(lambda module, args: seen_modes.append(module.training))
    model.shape_encoder.register_forward_pre_hook(lambda module, args: seen_modes.append(
        (module.training, torch.is_grad_enabled())))
    runner = SimpleNamespace(model=model, visualizer=Recorder())
    batch = dict(
        inputs=[torch.randint(0, 256, (3, SIZE, SIZE), dtype=torch.uint8) for _ in range(3)])
    grid = hook.draw(runner, batch, 'appearance_swap', step=7)
    assert seen_modes and all(mode == (False, False) for mode in seen_modes)
    assert model.training and model.shape_encoder.training  # put back in training mode
    (name, image, step), = runner.visualizer.images
    assert (name, step) == ('appearance_swap', 7) and image is grid
    assert grid.shape == (4 * SIZE, 3 * SIZE, 3)  # the first 2 of the 3 images


class NotDisPart(BaseModel):

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return inputs


def test_model_without_swap_appearance_is_refused():
    hook = AppearanceSwapHook()
    with pytest.raises(TypeError) as error:
        hook.before_train(SimpleNamespace(model=NotDisPart()))
    message = str(error.value)
    assert '\n' not in message
    assert 'AppearanceSwapHook' in message and 'NotDisPart' in message
    assert 'swap_appearance' in message
    with pytest.raises(TypeError, match='AppearanceSwapHook'):
        AppearanceSwapHook(after_test=True).before_test(SimpleNamespace(model=NotDisPart()))
    AppearanceSwapHook().before_test(SimpleNamespace(model=NotDisPart()))  # not drawing: fine


@pytest.mark.parametrize('key, value', [('interval', 0), ('num_images', -1), ('num_images', 2.0),
                                        ('min_tile_size', True), ('alpha', 1.5)])
def test_bad_arguments_are_refused(key, value):
    with pytest.raises(ValueError, match=f'AppearanceSwapHook: {key}'):
        AppearanceSwapHook(**{key: value})


def test_fixed_samples_leave_the_random_generators_alone():

    class Noisy(torch.utils.data.Dataset):

        def __len__(self) -> int:
            return 5

        def __getitem__(self, index: int) -> dict:
            return dict(value=random.random() + np.random.rand() + torch.rand(()).item())

    loader = torch.utils.data.DataLoader(Noisy(), collate_fn=list)
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    expected = (random.random(), np.random.rand(), torch.rand(()).item())
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    samples = AppearanceSwapHook(num_images=3)._first_samples(loader)
    assert len(samples) == 3
    assert (random.random(), np.random.rand(), torch.rand(()).item()) == expected


def make_runner(work_dir, max_iters: int, hook: dict) -> Runner:
    cfg = copy.deepcopy(TINY)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'swap_{next(_runs)}'
    cfg.train_cfg.max_iters = max_iters
    cfg.default_hooks.checkpoint = None  # no checkpoint writing
    cfg.log_level = 'WARNING'
    cfg.custom_hooks = [dict(type='AppearanceSwapHook', **hook)]
    for dataset in cfg.val_dataloader.dataset.datasets:
        dataset.num_samples = 3  # a short final validation
    return Runner.from_cfg(cfg)


def find_hook(runner) -> AppearanceSwapHook:
    hook, = [h for h in runner.hooks if isinstance(h, AppearanceSwapHook)]
    return hook


def test_training_writes_grids_of_fixed_val_images(tmp_path):
    runner = make_runner(
        tmp_path, max_iters=3, hook=dict(interval=2, num_images=3, min_tile_size=SIZE))
    runner.train()
    vis_dir = Path(runner.log_dir) / 'vis_data' / 'vis_image'
    files = sorted(p.name for p in vis_dir.glob('appearance_swap*.png'))
    assert files == ['appearance_swap_2.png', 'appearance_swap_3.png']  # every 2nd and the last
    grid = np.asarray(Image.open(vis_dir / 'appearance_swap_3.png').convert('RGB'))
    assert grid.shape == (5 * SIZE, 4 * SIZE, 3)
    # the fixed images are the first 3 validation samples
    hook = find_hook(runner)
    first_val = runner.val_dataloader.dataset[0]['inputs'].permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(tile(grid, 0, 1), first_val)
    assert [s.metainfo['sample_idx'] for s in hook._fixed_batch['data_samples']] == [0, 1, 2]
    # a grid drawn now equals the file of the last iteration, the diagonal the reconstructions
    model = runner.model.eval()
    with torch.no_grad():
        images = model.data_preprocessor(hook._fixed_batch, False)['inputs']
        recon = as_uint8(model.swap_appearance(images, images))
    for i in range(3):
        assert np.abs(tile(grid, 2 + i, 1 + i).astype(int) - recon[i]).max() <= 1


def fake_runner(model, iteration: int, max_iters: int, **attributes) -> SimpleNamespace:
    return SimpleNamespace(
        model=model, iter=iteration, max_iters=max_iters, visualizer=Recorder(), **attributes)


def test_without_val_the_train_batch_is_drawn(dispart):
    hook = AppearanceSwapHook(interval=5, num_images=3, min_tile_size=SIZE)
    runner = fake_runner(copy.deepcopy(dispart).train(), 0, 7, val_loop=None)
    hook.before_train(runner)
    assert hook._fixed_batch is None
    batches = [
        dict(inputs=[torch.full((3, SIZE, SIZE), 30 * (b + 1), dtype=torch.uint8)] * 2)
        for b in range(7)
    ]
    for runner.iter, batch in enumerate(batches):  # iterations 1 .. 7
        hook.after_train_iter(runner, runner.iter, batch)
    assert [(name, step) for name, _, step in runner.visualizer.images
            ] == [('appearance_swap', 5), ('appearance_swap', 7)]  # every 5th and the last
    for (_, grid, step) in runner.visualizer.images:
        assert grid.shape == (4 * SIZE, 3 * SIZE, 3)  # the batches hold only 2 images
        assert (tile(grid, 0, 1) == 30 * step).all()  # the image of that iteration's batch


def test_after_test_draws_the_first_test_images(dispart):
    hook = AppearanceSwapHook(num_images=2, min_tile_size=SIZE, after_test=True)
    test_loader = Runner.build_dataloader(copy.deepcopy(TINY.test_dataloader))
    runner = fake_runner(copy.deepcopy(dispart), 0, 0, test_dataloader=test_loader)
    hook.before_test(runner)
    hook.after_test(
        runner)  # the runner calls every hook's after_test: the option must not shadow it
    hook.after_test_epoch(runner)
    (name, grid, step), = runner.visualizer.images
    assert (name, step) == ('appearance_swap_test', 0)
    assert grid.shape == (4 * SIZE, 3 * SIZE, 3)
    second = test_loader.dataset[1]['inputs'].permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(tile(grid, 0, 2), second)
    AppearanceSwapHook(num_images=2).after_test_epoch(runner)  # after_test=False: no drawing
    assert len(runner.visualizer.images) == 1


def test_registered():
    assert HOOKS.get('AppearanceSwapHook') is AppearanceSwapHook
