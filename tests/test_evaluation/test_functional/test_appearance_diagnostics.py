"""Appearance-path diagnostics of DisPart (Liu et al. 2021 Eq. 2-4): hand values and a tiny
model."""
import warnings

import pytest
import torch

from partseg.apis import init_model
from partseg.evaluation.functional import appearance_diagnostics, colourfulness, feature_spread

TINY = 'tests/data/configs/dispart_tiny.py'


def test_feature_spread_by_hand():
    features = torch.tensor([
        [[1.0, 2.0], [-2.0, 4.0]],  # image 0: part 0, part 1
        [[3.0, 2.0], [-2.0, 4.0]],  # image 1
    ])  # (N=2, K+1=2, L=2)
    # part 0: population std over images (1, 0) -> mean 0.5; mean |F| (1+2+3+2)/4 = 2 -> 0.25
    # part 1: the same in both images -> 0
    torch.testing.assert_close(feature_spread(features), torch.tensor([0.25, 0.0]))


def test_colourfulness_by_hand():
    image = torch.zeros(1, 3, 2, 2)
    image[:, 0], image[:, 1], image[:, 2] = 1.0, 0.5, 0.0  # every pixel (1, 0.5, 0)
    assert colourfulness(image).item() == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert colourfulness(torch.full((2, 3, 4, 4), 0.3)).item() == 0.0


@pytest.mark.parametrize('call, shape', [(feature_spread, (1, 3, 4)), (feature_spread, (2, 3)),
                                         (colourfulness, (2, 1, 4, 4))])
def test_bad_shapes(call, shape):
    with pytest.raises(ValueError, match='must be'):
        call(torch.zeros(shape))


@pytest.fixture(scope='module')
def tiny_model():
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = init_model(TINY)
    # Kaiming weights: with the config's sigma = 0.01 and eval-mode BN the untrained decoder's
    # output is constant, and nothing would depend on the input.
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.kaiming_normal_(module.weight)
    return model


def test_diagnostics_of_a_tiny_model(tiny_model):
    torch.manual_seed(0)
    inputs = torch.rand(3, 3, 32, 32) * 2 - 1
    figures = appearance_diagnostics(tiny_model, inputs)
    k1 = tiny_model.num_parts + 1
    assert len(figures['feature_spread']) == k1 and len(figures['part_mass']) == k1
    assert sum(figures['part_mass']) == pytest.approx(1.0, rel=1e-5)  # softmax maps
    with torch.no_grad():
        maps, feats = tiny_model.encode(inputs)
        recon = tiny_model.data_preprocessor.to_unit_range(tiny_model.render(feats, maps, (32, 32)))
    expected = (recon - (inputs + 1) / 2).abs().mean().item()  # mean / std 127.5: x -> (x + 1) / 2
    assert figures['reconstruction_error'] == pytest.approx(expected, rel=1e-5)
    assert figures['swap_change'] > 0 and all(s > 0 for s in figures['feature_spread'])

    same = appearance_diagnostics(tiny_model, inputs[:1].expand(3, -1, -1, -1))
    assert same['swap_change'] == pytest.approx(0.0, abs=1e-6)
    assert max(same['feature_spread']) == pytest.approx(0.0, abs=1e-5)


def test_diagnostics_need_two_images(tiny_model):
    with pytest.raises(ValueError, match='N >= 2'):
        appearance_diagnostics(tiny_model, torch.zeros(1, 3, 32, 32))
