"""TPS pair preprocessor, Liu et al. 2021 Sec. 3.1 and appendix A.1 (Jakab et al.'s TPS sampler)."""
import math

import pytest
import torch
from kornia.geometry.transform import warp_points_tps

from partseg.models.data_preprocessors import TPS_MASK_KEY, TPSPairPreprocessor
from partseg.registry import MODELS
from partseg.structures import PartDataSample

NO_WARP = dict(point_std=0.0, extra_point_std=0.0, translation_std=0.0)


def _batch(batch: int = 2, size: int = 16, seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    return dict(inputs=[
        torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=generator)
        for _ in range(batch)
    ])


def _fixed_tps(pre: TPSPairPreprocessor, translation):
    """Replace the random draw by the pure translation ``f(p) = p + translation``."""

    def sample_tps(num, device, dtype):
        n = pre.grid_size**2
        affine = torch.tensor([translation, [1.0, 0.0], [0.0, 1.0]], dtype=dtype, device=device)
        return (pre.control_points.expand(num, n,
                                          2), torch.zeros(num, n, 2,
                                                          dtype=dtype), affine.expand(num, 3, 2))

    return sample_tps


def test_appendix_defaults():
    pre = MODELS.build(dict(type='TPSPairPreprocessor'))
    assert pre.grid_size == 10
    assert (pre.point_std, pre.extra_point_std, pre.extra_point_prob) == (0.001, 0.005, 0.5)
    assert (pre.translation_std, pre.rotation_std, pre.scale_std) == (0.1, 0.0, 0.0)


def test_control_points_regular_10x10_grid():
    points = TPSPairPreprocessor().control_points
    assert points.shape == (100, 2)
    torch.testing.assert_close(points[0], torch.tensor([-1.0, -1.0]))
    torch.testing.assert_close(points[1], torch.tensor([-1 + 2 / 9, -1.0]))  # x varies fastest
    torch.testing.assert_close(points[10], torch.tensor([-1.0, -1 + 2 / 9]))
    torch.testing.assert_close(points[99], torch.tensor([1.0, 1.0]))


def test_eval_mode_gives_plain_normalised_images():
    pre = TPSPairPreprocessor()
    raw = torch.tensor([0, 255, 51], dtype=torch.uint8).view(3, 1, 1).expand(3, 4, 4)
    out = pre(dict(inputs=[raw, raw]), training=False)
    assert out['inputs'].shape == (2, 3, 4, 4)
    expected = torch.tensor([-1.0, 1.0, 51 / 127.5 - 1]).view(3, 1, 1).expand(3, 4, 4)
    torch.testing.assert_close(out['inputs'][0], expected)
    assert out['data_samples'] is None


def test_unit_range_and_black_value():
    pre = TPSPairPreprocessor(mean=(10.0, 20.0, 30.0), std=(2.0, 4.0, 5.0))
    raw = torch.rand(2, 3, 4, 4) * 255
    normalised = (raw - pre.mean) / pre.std
    torch.testing.assert_close(pre.to_unit_range(normalised), raw / 255)
    torch.testing.assert_close(pre.normalized_zero().flatten(), torch.tensor([-5.0, -5.0, -6.0]))
    plain = TPSPairPreprocessor(mean=None, std=None)
    torch.testing.assert_close(plain.to_unit_range(raw), raw / 255)
    assert torch.equal(plain.normalized_zero(), torch.zeros(3, 1, 1))


def test_training_shapes_and_masks():
    torch.manual_seed(0)
    out = TPSPairPreprocessor()(_batch(batch=2, size=16), training=True)
    assert out['inputs'].shape == (2, 2, 3, 16, 16)
    assert len(out['data_samples']) == 2
    for sample in out['data_samples']:
        assert isinstance(sample, PartDataSample)
        assert sample.metainfo['img_shape'] == (16, 16)
        mask = sample.get(TPS_MASK_KEY).data
        assert mask.shape == (2, 16, 16)
        assert mask.min() >= 0 and mask.max() <= 1 + 1e-6
        assert mask.mean() > 0.7  # translations of std 0.1 (5% of the width) move little out
    # two independent warps per image
    assert not torch.allclose(out['inputs'][:, 0], out['inputs'][:, 1])


def test_given_data_samples_get_the_masks():
    samples = [
        PartDataSample(metainfo=dict(img_shape=(16, 16), img_path=f'{i}.png')) for i in range(2)
    ]
    out = TPSPairPreprocessor()(dict(**_batch(), data_samples=samples), training=True)
    assert len(out['data_samples']) == 2
    assert all(TPS_MASK_KEY in s and s.metainfo['img_path'] == f'{i}.png'
               for i, s in enumerate(out['data_samples']))


def test_identity_when_all_stds_are_zero():
    pre = TPSPairPreprocessor(**NO_WARP)
    data = _batch(size=16)
    plain = pre(dict(data), training=False)['inputs']
    out = pre(dict(data), training=True)
    torch.testing.assert_close(
        out['inputs'], plain[:, None].expand(2, 2, 3, 16, 16), atol=1e-4, rtol=0)
    for sample in out['data_samples']:
        torch.testing.assert_close(
            sample.get(TPS_MASK_KEY).data, torch.ones(2, 16, 16), atol=1e-5, rtol=0)


def test_deterministic_under_a_seed():
    pre = TPSPairPreprocessor()
    runs = []
    for seed in (7, 7, 8):
        torch.manual_seed(seed)
        runs.append(pre(_batch(), training=True)['inputs'])
    assert torch.equal(runs[0], runs[1])
    assert not torch.allclose(runs[0], runs[2])


def test_translation_warp_direction_black_outside_and_mask():
    # f(p) = p + (0.5, 0): output column j samples source column j + W/4 (normalised [-1, 1]
    # spans W), so the last W/4 = 4 columns come from outside the image: black, mask 0.
    pre = TPSPairPreprocessor()
    pre.sample_tps = _fixed_tps(pre, [0.5, 0.0])
    data = _batch(batch=1, size=16)
    plain = pre(dict(data), training=False)['inputs']
    out = pre(dict(data), training=True)
    view, mask = out['inputs'][0, 0], out['data_samples'][0].get(TPS_MASK_KEY).data[0]
    torch.testing.assert_close(view[:, :, :12], plain[0, :, :, 4:], atol=1e-4, rtol=0)
    torch.testing.assert_close(view[:, :, 12:], torch.full((3, 16, 4), -1.0), atol=1e-5, rtol=0)
    torch.testing.assert_close(mask[:, :12], torch.ones(16, 12), atol=1e-5, rtol=0)
    torch.testing.assert_close(mask[:, 12:], torch.zeros(16, 4), atol=1e-5, rtol=0)
    # and vertically: f(p) = p + (0, -0.5) takes row i from row i - 4
    pre.sample_tps = _fixed_tps(pre, [0.0, -0.5])
    out = pre(dict(data), training=True)
    view, mask = out['inputs'][0, 1], out['data_samples'][0].get(TPS_MASK_KEY).data[1]
    torch.testing.assert_close(view[:, 4:], plain[0, :, :12], atol=1e-4, rtol=0)
    torch.testing.assert_close(mask[:4], torch.zeros(4, 16), atol=1e-5, rtol=0)


def test_sampled_coefficient_statistics():
    torch.manual_seed(0)
    for prob, std in ((0.5, math.sqrt(0.001**2 + 0.5 * 0.005**2)), (0.0, 0.001),
                      (1.0, math.sqrt(0.001**2 + 0.005**2))):
        pre = TPSPairPreprocessor(extra_point_prob=prob)
        centers, kernel_weights, affine = pre.sample_tps(2000, torch.device('cpu'), torch.float32)
        assert centers.shape == kernel_weights.shape == (2000, 100, 2)
        assert affine.shape == (2000, 3, 2)
        # kornia's kernel is half Jakab's r^2 log r^2, so its weights are twice the coefficients
        assert (kernel_weights / 2).std().item() == pytest.approx(std, rel=0.02)
        assert affine[:, 0].std().item() == pytest.approx(0.1, rel=0.05)  # translation
        # rotation 0 and scale 1 (stds 0): the linear part is the identity
        torch.testing.assert_close(affine[:, 1:], torch.eye(2).expand(2000, 2, 2))


def test_rotation_and_scale_follow_jakab_affine():
    torch.manual_seed(0)
    pre = TPSPairPreprocessor(rotation_std=30.0, scale_std=0.1)
    _, _, affine = pre.sample_tps(4000, torch.device('cpu'), torch.float32)
    linear = affine[:, 1:]  # rows: coefficients of x, of y: [[s cos, -s sin], [s sin, s cos]]
    torch.testing.assert_close(linear[:, 0, 0], linear[:, 1, 1])
    torch.testing.assert_close(linear[:, 0, 1], -linear[:, 1, 0])
    scale = linear[:, 0].norm(dim=-1)
    angle = torch.atan2(-linear[:, 0, 1], linear[:, 0, 0])
    assert (scale - 1).std().item() == pytest.approx(0.1, rel=0.05)
    assert math.degrees(angle.std().item()) == pytest.approx(30.0, rel=0.05)


def test_warp_equals_jakab_formula():
    # f(p) = t + A p + sum_i w_i U(|p - c_i|), U(r) = r^2 log r^2, with w = kernel_weights / 2
    torch.manual_seed(1)
    pre = TPSPairPreprocessor(grid_size=3, point_std=0.05, rotation_std=10.0, scale_std=0.1)
    centers, kernel_weights, affine = pre.sample_tps(2, torch.device('cpu'), torch.float64)
    points = torch.tensor([[0.3, -0.2], [-0.7, 0.9], [0.5, 0.5]], dtype=torch.float64)
    warped = warp_points_tps(points.expand(2, 3, 2), centers, kernel_weights, affine)
    for b in range(2):
        for n, (x, y) in enumerate(points.tolist()):
            fx = affine[b, 0, 0] + affine[b, 1, 0] * x + affine[b, 2, 0] * y
            fy = affine[b, 0, 1] + affine[b, 1, 1] * x + affine[b, 2, 1] * y
            for i, (cx, cy) in enumerate(centers[b].tolist()):
                r2 = (x - cx)**2 + (y - cy)**2
                u = r2 * math.log(r2) if r2 > 0 else 0.0
                fx = fx + kernel_weights[b, i, 0] / 2 * u
                fy = fy + kernel_weights[b, i, 1] / 2 * u
            torch.testing.assert_close(warped[b, n], torch.stack((fx, fy)))


def test_data_samples_batch_mismatch():
    with pytest.raises(ValueError, match='data_samples'):
        TPSPairPreprocessor()(
            dict(**_batch(batch=2), data_samples=[PartDataSample()]), training=True)


@pytest.mark.parametrize('mode', ['border', 'reflection'])
def test_padding_modes_fill_outside_with_edge_or_mirror_and_keep_the_mask(mode):
    # f(p) = p + (0.5, 0) as above: output columns 12..15 sample source columns 16..19, i.e.
    # 0.5..3.5 px beyond the right edge (pixel centres 16.5..19.5 in a 16-px image); 'border'
    # repeats column 15, 'reflection' (about the edge, align_corners=False) mirrors to 15..12.
    pre = TPSPairPreprocessor(padding_mode=mode)
    pre.sample_tps = _fixed_tps(pre, [0.5, 0.0])
    data = _batch(batch=1, size=16)
    plain = pre(dict(data), training=False)['inputs'][0]
    out = pre(dict(data), training=True)
    view, mask = out['inputs'][0, 0], out['data_samples'][0].get(TPS_MASK_KEY).data[0]
    torch.testing.assert_close(view[:, :, :12], plain[:, :, 4:], atol=1e-4, rtol=0)
    outside = plain[:, :, 15:].expand(3, 16, 4) if mode == 'border' else plain[:, :, 12:].flip(-1)
    torch.testing.assert_close(view[:, :, 12:], outside, atol=1e-4, rtol=0)
    torch.testing.assert_close(mask[:, 12:], torch.zeros(16, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(mask[:, :12], torch.ones(16, 12), atol=1e-5, rtol=0)


@pytest.mark.parametrize('kwargs, key', [
    (dict(grid_size=1), 'grid_size'),
    (dict(grid_size=True), 'grid_size'),
    (dict(point_std=-0.1), 'point_std'),
    (dict(translation_std=float('nan')), 'translation_std'),
    (dict(extra_point_prob=1.5), 'extra_point_prob'),
    (dict(mean=(1.0, 2.0)), 'mean'),
    (dict(std=(1.0, 0.0, 1.0)), 'std'),
    (dict(mean=None), 'mean'),
    (dict(padding_mode='constant'), 'padding_mode'),
])
def test_bad_arguments(kwargs, key):
    with pytest.raises(ValueError, match=key) as info:
        TPSPairPreprocessor(**kwargs)
    assert '\n' not in str(info.value)
