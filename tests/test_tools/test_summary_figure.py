"""tools/analysis_tools/summary_figure.py: the figure of an evaluated work dir comes from its
checkpoint, metrics and logs."""
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from PIL import Image

from partseg.structures import PartDataSample

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'summary_figure.py')
CONFIG = osp.join(ROOT, 'tests', 'data', 'configs', 'dispart_tiny.py')

_spec = importlib.util.spec_from_file_location('partseg_summary_figure_tool', TOOL)
summary_figure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(summary_figure)

METRICS = {
    'landmark_error': 12.5,
    'landmark_error_mean_baseline': 22.7,
    'fg_iou': 0.35,
    'fg_iou_all_foreground_baseline': 0.15,
    'fg_iou_centred_ellipse_baseline': 0.33,
    'nmi_fg': float('nan'),
}


def save_checkpoint(path, background_bias: float) -> str:
    """The tiny DisPart model's random weights (seed 0) with the part head's background logit
    shifted: +50 predicts background everywhere, -50 parts everywhere."""
    from partseg.apis import init_model
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match='no checkpoint given'):
        model = init_model(CONFIG, None)
    state = model.state_dict()
    state['part_head.bias'][0] = background_bias
    torch.save(dict(state_dict=state, meta=dict()), path)
    return str(path)


@pytest.fixture(scope='module')
def work_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('summary')
    parts = save_checkpoint(root / 'parts.pth', -50.0)
    save_checkpoint(root / 'background.pth', 50.0)
    with open(root / 'metrics.json', 'w') as f:
        json.dump(dict(config=CONFIG, checkpoint=parts, metrics=METRICS), f)
    vis_data = root / '20261201_000000' / 'vis_data'
    vis_data.mkdir(parents=True)
    with open(vis_data / 'scalars.json', 'w') as f:
        for step in (1, 2, 3):
            f.write(json.dumps(dict(loss=3.0 / step, loss_rec=2.0 / step, iter=step, step=step)))
            f.write('\n')
    return root


def test_metric_rows_put_each_metric_beside_its_baselines():
    assert summary_figure.metric_rows(METRICS) == [
        ('landmark_error ↓', '12.500', 'mean 22.700'),
        ('fg_iou ↑', '0.350', 'all-foreground 0.150\ncentred-ellipse 0.330'),
        ('nmi_fg ↑', 'n/a', '-'),
    ]


def test_mosaic_is_the_overlays_of_the_predictions():
    image = np.full((32, 32, 3), 100, dtype=np.uint8)
    samples = []
    for shift in range(16):
        labels = torch.zeros(1, 32, 32, dtype=torch.long)
        labels[0, 8:24, shift:shift + 8] = 1 + shift % 4
        sample = PartDataSample()
        sample.pred_sem_seg = PixelData(data=labels)
        samples.append(sample)
    mosaic, num_parts = summary_figure.overlay_mosaic([image] * 16, samples)
    gap = summary_figure.GAP
    assert num_parts == 4 and mosaic.shape == (4 * 256 + 3 * gap, 4 * 256 + 3 * gap, 3)
    # tile 5 (row 1, column 1): part 2 at columns 5..12 of 32, i.e. 40..103 of 256
    tile = mosaic[256 + gap:512 + gap, 256 + gap:512 + gap]
    assert (tile[128, 72] != 100).any() and (tile[128, 150] == 100).all()
    assert (mosaic[256:256 + gap] == 255).all()  # white gaps between the rows


def test_summary_of_a_work_dir(work_dir):
    summary_figure.main([str(work_dir), '--num-images', '4'])
    drawn = np.asarray(Image.open(work_dir / 'summary.png').convert('RGB'))
    assert drawn.shape == (1050, 1900, 3)
    # another checkpoint predicts other parts: the image side of the figure changes
    other = work_dir / 'other.png'
    summary_figure.main([
        str(work_dir), '--num-images', '4', '--checkpoint',
        str(work_dir / 'background.pth'), '--out',
        str(other)
    ])
    changed = (np.asarray(Image.open(other).convert('RGB')) != drawn).any(-1)
    assert changed[:, :1000].mean() > 0.05


def test_errors_name_what_is_missing(work_dir, tmp_path):
    with pytest.raises(summary_figure.UserError, match='no metrics.json in .*tools/test.py'):
        summary_figure.main([str(tmp_path)])
    with open(tmp_path / 'metrics.json', 'w') as f:
        json.dump(dict(config='configs/nope.py', checkpoint='x.pth', metrics={}), f)
    with pytest.raises(summary_figure.UserError, match='config configs/nope.py named in'):
        summary_figure.main([str(tmp_path)])
    outside = tmp_path / 'my_config.py'
    outside.write_text('print("not run")\n')
    with open(tmp_path / 'metrics.json', 'w') as f:
        json.dump(dict(config=str(outside), checkpoint='x.pth', metrics={}), f)
    with pytest.raises(summary_figure.UserError, match='outside this repository; give it with'):
        summary_figure.main([str(tmp_path)])
    with pytest.raises(summary_figure.UserError, match='--out must name a .png or .jpg'):
        summary_figure.main([str(work_dir), '--out', 'summary.pdf'])
    with pytest.raises(summary_figure.UserError, match='--dpi'):
        summary_figure.main([str(work_dir), '--dpi', '5'])
