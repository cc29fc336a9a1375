"""PartVisualizationHook: overlays of test, val and train predictions, their names and sizes."""
import itertools
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmengine.visualization import Visualizer
from PIL import Image
from torch import nn

from partseg.engine.hooks import PartVisualizationHook
from partseg.structures import PartDataSample
from partseg.visualization import PartVisualizer, part_palette
from partseg.visualization.part_drawing import legend_strip, title_strip

H, W = 32, 24
# a 32 x 24 input is drawn at 256 px on its short side: 341 x 256 panels, 16 px text; titles
# above, the legend of K = 2 (labels bg, 1, 2) and one note below 3 panels
TILE_H, TILE_W = round(H * 256 / W), 256
TOP = title_strip(['image'], TILE_W, 16).shape[0]
SIZE = (3 * TILE_W, TOP + TILE_H + legend_strip(part_palette(2), 3 * TILE_W, 16, ['x']).shape[0])
_names = itertools.count()


class ThresholdSegmentor(BaseModel):
    """Part 1 = bright pixels of the left half, part 2 = bright pixels of the right half."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        images = torch.stack(inputs).float()  # B x (3, H, W) uint8 -> (B, 3, H, W)
        if mode == 'loss':
            return dict(loss=self.scale * images.mean() * 0)
        bright = images.mean(1) > 127  # (B, H, W)
        right = torch.arange(W) >= W // 2  # (W,)
        labels = bright.long() * (1 + right.long())  # (B, H, W)
        for sample, label in zip(data_samples, labels):
            sample.pred_sem_seg = PixelData(data=label[None])
        return data_samples


class Cats(torch.utils.data.Dataset):
    """Four (3, H, W) uint8 images with a bright square, named /data/cats/cat_<i>.jpg."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> dict:
        image = torch.full((3, H, W), 20, dtype=torch.uint8)
        image[:, 8:24, 4 + index:20 + index] = 230
        sample = PartDataSample(
            metainfo=dict(img_path=f'/data/cats/cat_{index}.jpg', img_shape=(H, W)))
        return dict(inputs=image, data_samples=sample)


class CountMetric(BaseMetric):

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(1 for _ in data_samples)

    def compute_metrics(self, results) -> dict:
        return dict(count=len(results))


def make_test_runner(work_dir, hook_cfg: dict) -> Runner:
    return Runner(
        model=ThresholdSegmentor(),
        work_dir=str(work_dir),
        experiment_name=f'vis_{next(_names)}',
        test_dataloader=dict(
            dataset=Cats(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0,
            collate_fn=dict(type='pseudo_collate')),
        test_cfg=dict(type='TestLoop'),
        test_evaluator=[CountMetric()],
        default_hooks=dict(visualization=dict(type='PartVisualizationHook', **hook_cfg)),
        visualizer=dict(
            type='PartVisualizer', vis_backends=[dict(type='LocalVisBackend')], alpha=0.2),
        log_level='WARNING',
        default_scope='partseg')


def png_sizes(directory) -> dict:
    return {
        name: Image.open(os.path.join(directory, name)).size
        for name in sorted(os.listdir(directory))
    }


def test_test_loop_writes_overlays_into_work_dir_show_dir(tmp_path):
    runner = make_test_runner(tmp_path, dict(show_dir='overlays', num_images=3))
    assert runner.test() == dict(count=4)
    sizes = png_sizes(tmp_path / 'overlays')
    assert sizes == {f'test_000{i}_cat_{i}.png': SIZE for i in range(3)}
    # the overlay shows part 2 (right half of the bright square) of cat_1 in its blend colour;
    # input pixel (row, col) is drawn around (row + 0.5, col + 0.5) * 256 / 24
    drawing = np.asarray(Image.open(tmp_path / 'overlays' / 'test_0001_cat_1.png').convert('RGB'))

    def at(row, col):
        return drawing[TOP + int((row + 0.5) * TILE_W / W), TILE_W + int((col + 0.5) * TILE_W / W)]

    # 0.8 * 230 + 0.2 * (60, 180, 75): part 2's colour over the bright square
    np.testing.assert_array_equal(at(10, 17), [196, 220, 199])
    np.testing.assert_array_equal(at(10, 1), [20, 20, 20])  # background untouched
    # cat_2's square is one pixel further right: its drawing differs where the square moved
    other = np.asarray(Image.open(tmp_path / 'overlays' / 'test_0002_cat_2.png').convert('RGB'))
    assert (other != drawing).any(-1).mean() > 0.01
    # nothing went to the vis backend
    assert not os.path.exists(os.path.join(runner.log_dir, 'vis_data', 'vis_image'))


def test_absolute_show_dir_and_all_images(tmp_path):
    out = tmp_path / 'elsewhere'
    runner = make_test_runner(tmp_path / 'work', dict(show_dir=str(out), num_images=None))
    runner.test()
    assert sorted(png_sizes(out)) == [f'test_000{i}_cat_{i}.png' for i in range(4)]


def test_without_show_dir_drawings_go_to_the_vis_backend(tmp_path):
    runner = make_test_runner(tmp_path, dict(num_images=2))
    runner.test()
    sizes = png_sizes(os.path.join(runner.log_dir, 'vis_data', 'vis_image'))
    assert sizes == {f'test_000{i}_cat_{i}_0.png': SIZE for i in range(2)}


def batch_of(indices) -> dict:
    items = [Cats()[i] for i in indices]
    return dict(
        inputs=[item['inputs'] for item in items],
        data_samples=[item['data_samples'] for item in items])


@pytest.fixture
def fake_runner(tmp_path):
    PartVisualizer.get_instance(
        'hook_test', vis_backends=[dict(type='LocalVisBackend')], save_dir=str(tmp_path / 'log'))
    model = ThresholdSegmentor()
    model.train()
    return SimpleNamespace(work_dir=str(tmp_path / 'work'), iter=7, model=model)


def test_val_iterations_are_drawn_per_evaluation(fake_runner, tmp_path):
    hook = PartVisualizationHook(num_images=3, show_dir='val_overlays')
    hook.before_run(fake_runner)
    hook.before_val_epoch(fake_runner)
    batch = batch_of([0, 1])
    outputs = fake_runner.model.val_step(batch)
    hook.after_val_iter(fake_runner, 0, batch, outputs)
    batch = batch_of([2, 3])
    hook.after_val_iter(fake_runner, 1, batch, fake_runner.model.val_step(batch))
    out = os.path.join(fake_runner.work_dir, 'val_overlays')
    assert sorted(os.listdir(out)) == [f'val_000{i}_cat_{i}_7.png' for i in range(3)]
    hook.before_val_epoch(fake_runner)  # a new evaluation counts from 0 again
    hook.after_val_iter(fake_runner, 0, batch, fake_runner.model.val_step(batch))
    assert 'val_0000_cat_2_7.png' in os.listdir(out)


def test_training_batches_are_drawn_every_interval(fake_runner, tmp_path):
    hook = PartVisualizationHook(num_images=1, interval=4)
    hook.before_run(fake_runner)
    batch = batch_of([2, 3])
    vis_dir = tmp_path / 'log' / 'vis_data' / 'vis_image'
    hook.after_train_iter(fake_runner, 6, batch, dict(loss=torch.zeros(())))  # iteration 8
    assert sorted(os.listdir(vis_dir)) == ['train_0000_cat_2_8.png']
    assert fake_runner.model.training  # back in training mode
    fake_runner.iter = 8  # iteration 9: not a multiple of 4
    hook.after_train_iter(fake_runner, 7, batch, dict(loss=torch.zeros(())))
    assert len(os.listdir(vis_dir)) == 1


def test_needs_a_part_visualizer(fake_runner):
    Visualizer.get_instance('plain')
    with pytest.raises(TypeError, match="visualizer=dict\\(type='PartVisualizer'"):
        PartVisualizationHook().before_run(fake_runner)


@pytest.mark.parametrize('kwargs, fragment', [
    (dict(num_images=-1), 'num_images'),
    (dict(num_images=True), 'num_images'),
    (dict(interval=1.5), 'interval'),
])
def test_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=f'PartVisualizationHook: {fragment}'):
        PartVisualizationHook(**kwargs)
