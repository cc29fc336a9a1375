"""SyntheticPartsDataset: determinism, GT consistency, validation and the packing pipeline."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from partseg.datasets import SyntheticPartsDataset
from partseg.datasets.creature_renderer import (_part_hues, hsv_to_rgb, landmark_names, part_names,
                                                species_hues)
from partseg.datasets.transforms import LoadPartImage, PackPartInputs, ResizeParts
from partseg.registry import DATASETS
from partseg.structures import PartDataSample


@pytest.fixture
def partseg_scope():
    """Build configs under default_scope='partseg'; leave no DefaultScope behind."""
    DefaultScope._instance_dict.clear()
    DefaultScope.get_instance('test_synthetic_parts', scope_name='partseg')
    yield
    DefaultScope._instance_dict.clear()


def _ds(**kwargs):
    args = dict(num_samples=12, num_parts=4, image_size=32, occlusion_prob=0.3)
    args.update(kwargs)
    return SyntheticPartsDataset(**args)


def test_entry_keys_types_and_shapes():
    info = _ds(image_size=(32, 40), regression_split='test').get_data_info(3)
    assert info['img'].shape == (32, 40, 3) and info['img'].dtype == np.uint8
    assert info['gt_seg_map'].shape == (32, 40) and info['gt_seg_map'].dtype == np.uint8
    assert info['gt_fg_mask'].dtype == bool
    # N = K part centres + 2 eyes + tail tip
    assert info['gt_landmarks'].shape == (7, 2) and info['gt_landmarks'].dtype == np.float32
    visible = info['gt_landmarks_visible']
    assert visible.shape == (7, ) and visible.dtype == bool
    assert info['landmark_norm'].shape == (2, ) and info['landmark_norm'].dtype == np.float32
    assert info['sample_idx'] == 3 and info['regression_split'] == 'test'
    assert 'regression_split' not in _ds().get_data_info(0)


def test_deterministic_and_distinct():
    a, b = _ds().get_data_info(5), _ds().get_data_info(5)
    for key in ('img', 'gt_seg_map', 'gt_landmarks', 'gt_landmarks_visible', 'landmark_norm'):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a['img'], _ds().get_data_info(6)['img'])
    assert not np.array_equal(a['img'], _ds(seed=1).get_data_info(5)['img'])
    # the splits are different instance streams
    imgs = {split: _ds(split=split).get_data_info(5)['img'] for split in ('train', 'val', 'test')}
    assert not np.array_equal(imgs['train'], imgs['val'])
    assert not np.array_equal(imgs['val'], imgs['test'])


def test_cache_returns_copies():
    ds = _ds(cache=True)
    first = ds.get_data_info(2)
    first['img'][:] = 0  # mutating a returned sample must not touch the cache
    again = ds.get_data_info(2)
    np.testing.assert_array_equal(again['img'], _ds().get_data_info(2)['img'])


def test_masks_landmarks_and_part_coverage():
    ds = _ds(num_samples=20)
    present = np.zeros(4)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        seg, fg = info['gt_seg_map'], info['gt_fg_mask']
        np.testing.assert_array_equal(seg > 0, fg)
        assert seg.max() <= 4 and fg.any()
        pts, vis = info['gt_landmarks'], info['gt_landmarks_visible']
        inside = (pts >= 0).all(1) & (pts[:, 0] <= 32) & (pts[:, 1] <= 32)
        assert inside[vis].all()
        # a visible part centre is the centroid of that part's pixels (pixel centres j + .5)
        k = int(np.flatnonzero(vis[:4])[0]) + 1
        rows, cols = np.nonzero(seg == k)
        np.testing.assert_allclose(pts[k - 1], [cols.mean() + 0.5, rows.mean() + 0.5], atol=1e-4)
        present += [(seg == k).any() for k in range(1, 5)]
        w_box = np.ptp(np.nonzero(fg)[1]) + 1
        assert info['landmark_norm'][0] >= w_box  # bbox of the un-occluded object
    assert (present >= 0.8 * len(ds)).all()


def test_colours_differ_from_background():
    info = _ds(occlusion_prob=0.0).get_data_info(0)
    img, fg = info['img'].astype(float), info['gt_fg_mask']
    # objects are saturated, backgrounds muted: the mean channel spread differs clearly
    spread = img.max(-1) - img.min(-1)
    assert spread[fg].mean() > spread[~fg].mean() + 20


def test_metainfo():
    ds = _ds(num_parts=10)
    meta = ds.metainfo
    assert meta['classes'] == ('background', ) + tuple(f'part{k}' for k in range(1, 11))
    assert len(meta['palette']) == 11 and meta['palette'][0] == (0, 0, 0)
    assert meta['part_names'][:3] == ('body', 'head', 'tail') and meta['part_names'][9] == 'spike1'
    assert len(meta['landmark_names']) == 13 == len(meta['landmark_flip_indices'])
    assert landmark_names(1) == ('body_centre', ) and part_names(2) == ('body', 'head')


@pytest.mark.parametrize('num_parts', [1, 2, 3, 9, 12])
def test_any_number_of_parts(num_parts):
    info = _ds(num_parts=num_parts, num_samples=2).get_data_info(1)
    assert info['gt_seg_map'].max() <= num_parts
    assert len(info['gt_landmarks']) == len(landmark_names(num_parts))


@pytest.mark.parametrize('kwargs, message', [
    (dict(num_parts=0), r'num_parts must be a positive integer \(K >= 1\), got 0'),
    (dict(num_parts=256), 'num_parts must be at most 255'),
    (dict(image_size=8), 'at least 16 pixels'),
    (dict(image_size=(32, 15)), 'at least 16 pixels'),
    (dict(image_size='64'), 'image_size must be an int'),
    (dict(split='valid'), 'split must be'),
    (dict(regression_split='val'), 'regression_split must be'),
    (dict(occlusion_prob=1.5), 'occlusion_prob'),
    (dict(num_samples=0), 'num_samples'),
    (dict(seed=-1), 'seed'),
    (dict(clutter_shapes=(3, 2)), 'clutter_shapes'),
    (dict(clutter_shapes=(-1, 2)), 'clutter_shapes'),
    (dict(clutter_shapes=5), 'clutter_shapes'),
    (dict(object_scale=(1.5, 1.0)), 'object_scale'),
    (dict(object_scale=(0, 1.0)), 'object_scale'),
    (dict(object_scale=1.2), 'object_scale'),
    (dict(colour_scheme='rainbow'), "colour_scheme must be 'species' or 'random'"),
    (dict(hue_jitter=0.6), 'hue_jitter'),
    (dict(hue_jitter=-0.1), 'hue_jitter'),
])
def test_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _ds(**kwargs)


def test_pipeline_and_collate():
    ds = _ds(pipeline=[LoadPartImage(), ResizeParts((48, 40)), PackPartInputs()])
    out = ds[0]
    assert out['inputs'].shape == (3, 40, 48) and out['inputs'].dtype == torch.uint8
    sample = out['data_samples']
    assert isinstance(sample, PartDataSample)
    seg = sample.gt_sem_seg.data
    assert seg.shape == (1, 40, 48) and seg.dtype == torch.long
    assert sample.gt_fg_mask.data.dtype == torch.bool
    assert sample.gt_landmarks.shape == (7, 2) and sample.landmark_norm.shape == (2, )
    assert sample.img_shape == (40, 48) and sample.ori_shape == (32, 32)
    assert sample.scale_factor == (1.5, 1.25) and sample.sample_idx == 0
    batch = pseudo_collate([ds[i] for i in range(4)])
    assert len(batch['inputs']) == 4 and len(batch['data_samples']) == 4


def test_build_from_config(partseg_scope):
    ds = DATASETS.build(
        dict(
            type='SyntheticPartsDataset',
            num_samples=3,
            image_size=32,
            pipeline=[
                dict(type='LoadPartImage'),
                dict(type='RandomFlipParts', prob=1.0),
                dict(type='PackPartInputs')
            ]))
    assert ds[1]['data_samples'].flip is True


def test_cache_renders_each_instance_once(monkeypatch):
    import partseg.datasets.synthetic_parts as module
    calls = []
    render = module.render_creature

    def counting(rng, *args):
        calls.append(1)
        return render(rng, *args)

    monkeypatch.setattr(module, 'render_creature', counting)
    cached, fresh = _ds(cache=True), _ds(cache=False)
    for ds in (cached, fresh):
        ds.get_data_info(1)
        ds.get_data_info(1)
    assert len(calls) == 3  # cached: once; on the fly: twice
    np.testing.assert_array_equal(cached.get_data_info(1)['img'], fresh.get_data_info(1)['img'])


def test_samples_depend_on_instance_not_position_or_access_order():
    full = _ds(num_samples=6)
    subset = _ds(num_samples=6, indices=[4, 2])
    np.testing.assert_array_equal(subset.get_data_info(0)['img'], full.get_data_info(4)['img'])
    later = [full.get_data_info(i)['gt_landmarks'] for i in (5, 3, 0)]
    again = _ds(num_samples=6)
    np.testing.assert_array_equal(again.get_data_info(0)['gt_landmarks'], later[2])


@pytest.mark.parametrize('num_parts', [0, -3, 2.0, True, '4'])
def test_invalid_k_is_a_one_line_error_naming_num_parts(num_parts, partseg_scope):
    with pytest.raises(
            ValueError, match=r'^num_parts must be a positive integer \(K >= 1\), got') as info:
        DATASETS.build(dict(type='SyntheticPartsDataset', num_parts=num_parts))
    assert '\n' not in str(info.value)


def _config_datasets(num_samples=3):
    from mmengine.config import Config
    cfg = Config.fromfile('configs/_base_/datasets/synthetic_parts.py')
    for part in cfg.test_dataloader.dataset.datasets:
        part.num_samples = num_samples
        part.image_size = 32
    return cfg


def test_base_config_builds_a_tagged_test_set(partseg_scope):
    cfg = _config_datasets()
    test_set = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(test_set) == 6
    tags = [test_set[i]['data_samples'].regression_split for i in range(6)]
    assert tags == ['train'] * 3 + ['test'] * 3
    assert test_set[0]['inputs'].shape == (3, 64, 64)  # ResizeParts to the config's image_size
    assert cfg.train_dataloader.dataset.num_parts == cfg.num_parts == 4
    assert [m['type'] for m in cfg.test_evaluator
            ] == ['LandmarkRegressionMetric', 'ForegroundIoUMetric', 'PartNMIARIMetric']


def test_ground_truth_parts_score_perfectly_with_the_config_metrics(partseg_scope):
    """Dataset output meets the metric contract: GT part maps as the prediction beat every
    baseline (fg IoU 1, landmark error below the mean landmark's)."""
    from mmengine.evaluator import Evaluator
    from mmengine.structures import PixelData
    cfg = _config_datasets(num_samples=8)
    test_set = DATASETS.build(cfg.test_dataloader.dataset)
    evaluator = Evaluator(cfg.test_evaluator)
    samples = []
    for i in range(len(test_set)):
        sample = test_set[i]['data_samples']
        seg = sample.gt_sem_seg.data[0]  # (H, W)
        onehot = torch.nn.functional.one_hot(seg, cfg.num_parts + 1).permute(2, 0, 1)
        sample.seg_logits = PixelData(data=onehot.float() * 20)  # (K+1, H, W)
        sample.pred_sem_seg = PixelData(data=seg[None])
        samples.append(sample)
    evaluator.process(samples, None)
    metrics = evaluator.evaluate(len(samples))
    assert metrics['parts/fg_iou'] == 1.0
    assert metrics['parts/fg_iou_all_foreground_baseline'] < 0.7
    assert metrics['parts/fg_iou_centred_ellipse_baseline'] < 0.9
    assert metrics['parts/landmark_error'] < 0.5 * metrics['parts/landmark_error_mean_baseline']
    assert set(metrics) == {
        'parts/landmark_error', 'parts/landmark_error_mean_baseline', 'parts/fg_iou',
        'parts/fg_iou_all_foreground_baseline', 'parts/fg_iou_centred_ellipse_baseline',
        'parts/nmi', 'parts/ari', 'parts/nmi_fg', 'parts/ari_fg'
    }


def test_clutter_shapes_option():
    """The default is (4, 10) shapes; (0, 0) leaves the smooth gradient + noise background."""
    default, explicit = _ds(num_samples=3), _ds(num_samples=3, clutter_shapes=[4, 10])
    for i in range(3):
        np.testing.assert_array_equal(default[i]['img'], explicit[i]['img'])
    plain = _ds(num_samples=6, clutter_shapes=(0, 0), occlusion_prob=0.0)
    busy = _ds(num_samples=6, clutter_shapes=(10, 10), occlusion_prob=0.0)

    def background_edges(ds):
        # mean absolute horizontal step between neighbouring background pixels
        steps = []
        for i in range(len(ds)):
            img, fg = ds[i]['img'].astype(float), ds[i]['gt_fg_mask']
            both_bg = ~fg[:, 1:] & ~fg[:, :-1]
            steps.append(np.abs(np.diff(img, axis=1)).sum(-1)[both_bg].mean())
        return np.mean(steps)

    assert background_edges(plain) < 0.7 * background_edges(busy)
    # the creature itself does not depend on the clutter
    np.testing.assert_array_equal(plain[0]['gt_seg_map'], busy[0]['gt_seg_map'])


def test_object_scale_option():
    """The default is (0.75, 1.2); a fixed scale s gives a creature s / s' times as wide."""
    default, explicit = _ds(num_samples=3), _ds(num_samples=3, object_scale=[0.75, 1.2])
    for i in range(3):
        np.testing.assert_array_equal(default[i]['img'], explicit[i]['img'])
    small = _ds(num_samples=4, object_scale=(0.8, 0.8), occlusion_prob=0.0)
    large = _ds(num_samples=4, object_scale=(1.2, 1.2), occlusion_prob=0.0)
    for i in range(4):
        area_small, area_large = small[i]['gt_fg_mask'].sum(), large[i]['gt_fg_mask'].sum()
        # area grows with the square of the scale (1.5^2 = 2.25), up to the border and the rim
        assert 1.8 < area_large / area_small < 2.6


def test_species_hues_by_hand():
    """Base hue of part k (1-based) is 0.08 + (k - 1) * 0.618034 modulo 1."""
    np.testing.assert_allclose(species_hues(3), [0.08, 0.698034, 0.316068], atol=1e-6)
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(_part_hues(rng, 5, 'species', 0.0), species_hues(5))


def test_species_hues_stay_within_the_jitter_and_random_hues_do_not():
    rng = np.random.default_rng(1)
    base = species_hues(4)
    species = np.stack([_part_hues(rng, 4, 'species', 0.05) for _ in range(200)])
    circular = np.abs((species - base + 0.5) % 1.0 - 0.5)  # distance on the hue circle
    assert circular.max() <= 0.05 + 1e-9
    shuffled = np.stack([_part_hues(rng, 4, 'random', 0.05) for _ in range(200)])
    assert np.abs((shuffled - base + 0.5) % 1.0 - 0.5).max() > 0.3


def _mean_part_colour(ds, part):
    """Mean RGB of part ``part``'s pixels over the dataset."""
    return np.concatenate(
        [ds[i]['img'][ds[i]['gt_seg_map'] == part].astype(float) for i in range(len(ds))]).mean(0)


def test_colour_scheme_option():
    """'species' (default) gives each part its colour across instances; 'random' does not."""
    default, explicit = _ds(num_samples=3), _ds(num_samples=3, colour_scheme='species')
    for i in range(3):
        np.testing.assert_array_equal(default[i]['img'], explicit[i]['img'])
    species = _ds(num_samples=8, colour_scheme='species', hue_jitter=0.0, occlusion_prob=0.0)
    shuffled = _ds(num_samples=8, colour_scheme='random', occlusion_prob=0.0)

    # per-instance std of each part's mean colour: small when the part keeps its hue
    def spread(ds, part):
        means = np.stack([
            ds[i]['img'][ds[i]['gt_seg_map'] == part].astype(float).mean(0) for i in range(len(ds))
        ])
        chroma = means - means.mean(1, keepdims=True)  # remove brightness
        return np.linalg.norm(chroma.std(0))

    assert spread(species, 1) < 0.6 * spread(shuffled, 1)
    # the body (part 1) of the species scheme is the colour of hue 0.08 (orange-red): R > G > B
    r, g, b = _mean_part_colour(species, 1)
    expected = hsv_to_rgb(np.array([species_hues(1)[0], 0.75, 0.8]))
    assert r > g > b and expected[0] > expected[1] > expected[2]
    # the creature's shape does not depend on the colours
    np.testing.assert_array_equal(species[0]['gt_seg_map'], shuffled[0]['gt_seg_map'])
