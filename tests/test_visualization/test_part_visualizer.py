"""PartVisualizer: [image | overlay | label map | GT] panels, K+1 colours, legend, centroids, and
the size they are drawn at."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from PIL import Image

from partseg.structures import PartDataSample
from partseg.visualization import PartVisualizer, part_palette
from partseg.visualization.part_drawing import legend_strip, title_strip

H, W = 32, 24  # not square, so a swapped axis shows
GREY = 100

# part 1: rows 4..11 x cols 4..11 (centroid (x, y) = (8, 8)); part 2: rows 20..27 x cols 2..5
# (centroid (4, 24)); part 3: rows 16..31 x cols 12..23 (centroid (18, 24)).
PRED = np.zeros((H, W), dtype=np.int64)
PRED[4:12, 4:12] = 1
PRED[20:28, 2:6] = 2
PRED[16:32, 12:24] = 3
PALETTE = [(0, 0, 0), (230, 25, 75), (60, 180, 75), (255, 225, 25)]
# min_tile_size=W draws at the input's size (no upsampling), so pixels can be checked by hand;
# the text is then 12 px high and the panel titles take TOP rows above the panels.
TOP = title_strip(['image'], W, 12).shape[0]


def legend_height(num_parts, width, notes=1):
    return legend_strip(part_palette(num_parts), width, 12, ['x'] * notes).shape[0]


def make_sample(gt=None, landmarks=None, logits=None) -> PartDataSample:
    sample = PartDataSample(metainfo=dict(img_shape=(H, W), img_path='/data/cat.png'))
    sample.pred_sem_seg = PixelData(data=torch.from_numpy(PRED)[None])
    if logits is not None:
        sample.seg_logits = PixelData(data=logits)
    if gt is not None:
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
    if landmarks is not None:
        sample.gt_landmarks = torch.tensor(landmarks, dtype=torch.float32)
    return sample


@pytest.fixture
def image():
    return np.full((H, W, 3), GREY, dtype=np.uint8)


@pytest.fixture
def visualizer(tmp_path):
    return PartVisualizer.get_instance(
        'part_vis',
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path),
        alpha=0.2,
        dot_radius=2,
        min_tile_size=W)


def panel(drawing, index, row, col):
    return tuple(int(c) for c in drawing[TOP + row, index * W + col])


def test_overlay_label_map_centroids_and_legend(visualizer, image):
    drawing = visualizer.add_datasample('test_cat', image, make_sample(), step=3)
    # titles, then image | overlay | label map, above the legend of 4 labels at 3 W = 72 px
    assert drawing.shape == (TOP + H + legend_height(3, 3 * W), 3 * W, 3)
    assert drawing.dtype == np.uint8
    # image panel untouched
    assert panel(drawing, 0, 5, 5) == (GREY, GREY, GREY)
    # overlay: background untouched, parts blended 0.8 * 100 + 0.2 * colour
    assert panel(drawing, 1, 0, 0) == (GREY, GREY, GREY)
    assert panel(drawing, 1, 5, 5) == (126, 85, 95)  # part 1 (230, 25, 75)
    assert panel(drawing, 1, 17, 22) == (131, 125, 85)  # part 3 (255, 225, 25)
    # label map: palette colours, background black
    assert panel(drawing, 2, 0, 0) == PALETTE[0]
    assert panel(drawing, 2, 20, 2) == PALETTE[2]
    assert panel(drawing, 2, 31, 23) == PALETTE[3]
    # centroid dots in the part's full colour at (x, y) = (8, 8), (4, 24), (18, 24)
    for k, (x, y) in enumerate([(8, 8), (4, 24), (18, 24)], start=1):
        assert panel(drawing, 1, y, x) == PALETTE[k]
    assert panel(drawing, 1, 20, 2) == (92, 116, 95)  # part 2 blended away from its dot
    # legend: one swatch per label, in its colour, below the panels
    legend = drawing[TOP + H:]
    for colour in PALETTE:
        assert (legend == colour).all(-1).sum() >= 8 * 8  # a swatch of (text height)^2 pixels


def test_vis_backend_writes_the_png(visualizer, image, tmp_path):
    drawing = visualizer.add_datasample('test_cat', image, make_sample(), step=3)
    path = tmp_path / 'vis_data' / 'vis_image' / 'test_cat_3.png'
    written = np.asarray(Image.open(path).convert('RGB'))
    np.testing.assert_array_equal(written, drawing)


def test_out_file_bypasses_the_backends(visualizer, image, tmp_path):
    out_file = tmp_path / 'overlays' / 'cat.png'
    drawing = visualizer.add_datasample('test_cat', image, make_sample(), out_file=str(out_file))
    assert Image.open(out_file).size == (3 * W, TOP + H + legend_height(3, 3 * W))
    np.testing.assert_array_equal(np.asarray(Image.open(out_file).convert('RGB')), drawing)
    assert not (tmp_path / 'vis_data' / 'vis_image').exists()


def test_gt_panel_and_landmarks(visualizer, image):
    gt = np.zeros((H, W), dtype=np.int64)
    gt[:, W // 2:] = 2
    drawing = visualizer.add_datasample(
        'test_cat', image, make_sample(gt=gt, landmarks=[[16.0, 10.0]]), out_file=None)
    assert drawing.shape[1] == 4 * W
    assert panel(drawing, 3, 0, 0) == PALETTE[0] and panel(drawing, 3, 0, W - 1) == PALETTE[2]
    # a white-on-black cross at pixel (x, y) = (16, 10) on the image panel (arm 3 px)
    assert panel(drawing, 0, 10, 16) == (255, 255, 255)
    assert panel(drawing, 0, 10 - 3, 16) == (255, 255, 255)
    assert panel(drawing, 0, 10 - 6, 16) == (GREY, GREY, GREY)
    # draw_gt=False drops both
    plain = PartVisualizer.get_instance(
        'plain', alpha=0.2, min_tile_size=W).add_datasample(
            'x', image, make_sample(gt=gt, landmarks=[[16.0, 10.0]]), draw_gt=False)
    assert plain.shape[1] == 3 * W and panel(plain, 0, 10, 16) == (GREY, GREY, GREY)


def test_centroids_from_logits_weigh_the_soft_part_maps():
    """Eq. (8) on softmax(seg_logits): part 1 has mass ~1 at pixel (4, 4) and p at (4, 12)."""
    logits = torch.full((2, H, W), -30.0)
    logits[0] = 0.0
    logits[1, 4, 4] = 30.0
    logits[1, 4, 12] = 0.5
    p = 1 / (1 + np.exp(-0.5))  # softmax of (0, 0.5) over (background, part 1)
    pred = logits.argmax(0).numpy()
    soft = PartVisualizer._centroids(logits, pred, 1, (H, W))
    np.testing.assert_allclose(soft, [[(4.5 + 12.5 * p) / (1 + p), 4.5]], rtol=1e-5)
    hard = PartVisualizer._centroids(None, pred, 1, (H, W))
    np.testing.assert_allclose(hard, [[8.5, 4.5]], rtol=1e-6)
    # a part without mass has no centroid
    assert np.isnan(PartVisualizer._centroids(None, pred, 2, (H, W))[1]).all()
    # a part with soft mass that wins no pixel of the label map is not drawn either
    weak = torch.cat([logits, torch.full((1, H, W), -1.0)])  # part 2: mass ~0.27 * H * W
    assert not np.isnan(PartVisualizer._centroids(weak, pred, 2, (H, W))[0]).any()
    assert np.isnan(PartVisualizer._centroids(weak, pred, 2, (H, W))[1]).all()


def test_logits_only_and_small_label_maps(image):
    logits = torch.full((2, H, W), -30.0)
    logits[0] = 0.0
    logits[1, 4:12, 4:12] = 30.0
    sample = PartDataSample(metainfo=dict(img_shape=(H, W)))
    sample.seg_logits = PixelData(data=logits)
    vis = PartVisualizer.get_instance('logits', alpha=0.0, dot_radius=1, min_tile_size=W)
    drawing = vis.add_datasample('x', image, sample)
    # the label map is the argmax of the logits; the overlay (alpha 0) is the image but the dot
    assert panel(drawing, 2, 5, 5) == PALETTE[1] and panel(drawing, 2, 0, 0) == PALETTE[0]
    assert panel(drawing, 1, 5, 5) == (GREY, GREY, GREY)
    assert panel(drawing, 1, 8, 8) == PALETTE[1]
    # a label map at half resolution is upsampled (nearest) to the image
    small = PartDataSample(metainfo=dict(img_shape=(H, W)))
    small.pred_sem_seg = PixelData(data=torch.from_numpy(PRED[::2, ::2].copy())[None])
    drawing = vis.add_datasample('y', image, small)
    assert drawing.shape[:2] == (TOP + H + legend_height(3, 3 * W), 3 * W)
    assert panel(drawing, 2, 5, 5) == PALETTE[1] and panel(drawing, 2, 31, 23) == PALETTE[3]


@pytest.mark.parametrize(
    'bad, fragment', [
        (np.zeros((H, W, 3), dtype=np.float32), 'uint8'),
        (np.zeros((H, W), dtype=np.uint8), r'\(H, W, 3\)'),
    ],
    ids=['float', 'grey'])
def test_bad_image(bad, fragment):
    with pytest.raises(ValueError, match=fragment):
        PartVisualizer.get_instance('bad').add_datasample('x', bad, make_sample())


def test_bad_labels_and_arguments(image):
    sample = make_sample()
    sample.pred_sem_seg = PixelData(data=-torch.ones(1, H, W, dtype=torch.long))
    with pytest.raises(ValueError, match='pred_sem_seg holds negative labels'):
        PartVisualizer.get_instance('neg').add_datasample('x', image, sample)
    with pytest.raises(ValueError, match='alpha'):
        PartVisualizer(name='alpha', alpha=1.5)
    with pytest.raises(ValueError, match='dot_radius'):
        PartVisualizer(name='radius', dot_radius=0)
    with pytest.raises(ValueError, match='min_tile_size'):
        PartVisualizer(name='tile', min_tile_size=0)


def text_height(strip: np.ndarray) -> int:
    """Rows spanned by the black text of a white strip's first text line (its swatches' black
    outlines are left out by looking right of the first swatch only)."""
    dark = (strip.max(-1) < 80)[:, 30:].any(1)  # (rows,)
    first = int(np.argmax(dark))
    last = first + int(np.argmin(dark[first:]))  # the first row after the line
    return last - first


def test_small_inputs_are_drawn_at_256_px_with_readable_text(image):
    """A 32 x 24 input is drawn at 341 x 256 per panel: image bilinear, label maps nearest, 16 px
    text, 6 px centroid dots."""
    vis = PartVisualizer.get_instance('readable', alpha=0.2)
    image = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    drawing = vis.add_datasample('x', image, make_sample())
    tile_h, tile_w = round(H * 256 / W), 256
    top = title_strip(['image'], tile_w, 16).shape[0]
    assert drawing.shape[1] == 3 * tile_w
    assert drawing.shape[0] == top + tile_h + legend_strip(part_palette(3), 3 * tile_w, 16,
                                                           ['x']).shape[0]
    shown = drawing[top:top + tile_h]
    bilinear = np.asarray(Image.fromarray(image).resize((tile_w, tile_h), Image.BILINEAR))
    np.testing.assert_array_equal(shown[:, :tile_w], bilinear)
    nearest = np.asarray(
        Image.fromarray(PRED.astype(np.int32)).resize((tile_w, tile_h), Image.NEAREST))
    label_panel = shown[:, 2 * tile_w:]
    same = (label_panel == np.asarray(PALETTE, dtype=np.uint8)[nearest]).all(-1)
    assert same.mean() > 0.97  # all but the centroid dots
    # part 1's centroid (8, 8) in input pixels is at (8, 8) * 256 / 24 in the drawing: a dot of
    # radius 6 in part 1's colour on the label map (which is part 1's colour all around it, so
    # look for the white ring instead)
    cx, cy = round(8 * tile_w / W), round(8 * tile_h / H)
    ring = (label_panel[cy - 9:cy + 10, cx - 9:cx + 10] == 255).all(-1)
    assert ring.sum() >= 2 * np.pi * 6  # a ring around a dot of radius 6
    assert ((shown[cy - 5:cy + 6, tile_w + cx - 5:tile_w + cx + 6] == PALETTE[1]).all(-1)).sum() \
        >= 80  # the dot on the overlay: about pi * 5^2 pixels in the full part colour
    assert text_height(drawing[top + tile_h:]) >= 14  # a 16 px font (12 px: 11-12 rows)
    assert text_height(drawing[:top]) >= 14


def test_ori_shape_sets_the_panel_size(image):
    vis = PartVisualizer.get_instance('original', alpha=0.2)
    sample = make_sample()
    sample.set_metainfo(dict(ori_shape=(300, 400)))
    drawing = vis.add_datasample('x', image, sample)
    # the original's short side (300) with the input's aspect ratio (32 x 24): 400 x 300 panels
    assert drawing.shape[1] == 3 * 300
    top = title_strip(['image'], 300, round(300 / 16)).shape[0]
    assert (drawing[top + 399, 2 * 300 + 299] == PALETTE[3]).all()  # bottom-right: part 3


def test_drawing_follows_the_prediction(image):
    """Two predictions, two drawings: the overlay is the model's output, not a fixed picture."""
    vis = PartVisualizer.get_instance('follows', alpha=0.5)
    first = vis.add_datasample('a', image, make_sample())
    other = make_sample()
    other.pred_sem_seg = PixelData(data=torch.from_numpy(np.roll(PRED, 5, axis=1))[None])
    second = vis.add_datasample('b', image, other)
    assert first.shape == second.shape and (first != second).any(-1).mean() > 0.05
    overlay = vis.draw_overlay(image, other)
    assert overlay.shape == (round(H * 256 / W), 256, 3)
    with pytest.raises(ValueError, match='pred_sem_seg or seg_logits'):
        vis.draw_overlay(image, PartDataSample())
