"""The shared frozen VGG-19 (PerceptualLoss, SCOPS): layers, freezing, pretrained weights read in
init_weights from a path or torch's hub cache, and the one-line error when they are missing.

Nothing is downloaded: the hub cache is a temporary TORCH_HOME and the network is blocked.
"""
import os.path as osp
import socket
import warnings

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope

from partseg.models.backbones import VGG19_LAYER_ENDS, VGG19_URL, VGG19Features
from partseg.models.part_segmentors import BasePartSegmentor
from partseg.registry import MODELS
from partseg.utils.pretrained_weights import MissingPretrainedWeightsError, hub_cache_file

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty torch hub cache under tmp_path and no network: every connection attempt fails."""

    def refuse(*args, **kwargs):
        raise OSError('network disabled in this test')

    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.setattr(socket, 'getaddrinfo', refuse)
    monkeypatch.setattr(socket.socket, 'connect', refuse)
    return tmp_path / 'torch' / 'hub' / 'checkpoints'


def random_vgg(layers='relu1_2', **kwargs):
    with pytest.warns(UserWarning, match='randomly initialised'):
        return VGG19Features(layers, **kwargs)


def fake_vgg19_state(num_modules=4, seed=1):
    """A torchvision vgg19 state_dict of the first ``num_modules`` feature modules (random
    values), plus a classifier entry that must be ignored."""
    torch.manual_seed(seed)
    state = {
        f'features.{k}': torch.randn_like(v)
        for k, v in random_vgg(num_modules_to_layer(num_modules)).state_dict().items()
    }
    state['classifier.6.bias'] = torch.zeros(1000)
    return state


def num_modules_to_layer(num_modules):
    return next(name for name, end in VGG19_LAYER_ENDS.items() if end == num_modules)


def test_layers_by_hand_and_output_forms():
    vgg = random_vgg(('input', 'relu1_1', 'relu1_2'))
    assert len(vgg) == 4 and vgg.out_channels == 64
    images = torch.rand(2, 3, 8, 8)
    normalised, relu1_1, relu1_2 = vgg(images)
    torch.testing.assert_close(normalised, (images - MEAN) / STD)
    by_hand = F.relu(F.conv2d((images - MEAN) / STD, vgg[0].weight, vgg[0].bias, padding=1))
    torch.testing.assert_close(relu1_1, by_hand)
    torch.testing.assert_close(relu1_2, F.relu(F.conv2d(by_hand, vgg[2].weight, vgg[2].bias, 1, 1)))
    single = random_vgg('relu2_1')  # a name, not a sequence: one tensor
    out = single(images)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 128, 4, 4)
    assert single.out_channels == 128 and len(single) == 7  # nothing past relu2_1 is built


def test_frozen_and_always_in_eval():
    vgg = random_vgg()
    assert not any(p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training and not any(m.training for m in vgg.modules())


def test_bad_layers():
    with pytest.raises(ValueError, match="unknown layer 'relu6_1'"):
        VGG19Features('relu6_1')
    with pytest.raises(ValueError, match='repeat'):
        VGG19Features(('relu1_1', 'relu1_1'))


def test_build_reads_nothing_init_weights_loads_from_the_hub_cache(offline):
    state = fake_vgg19_state()
    offline.mkdir(parents=True)
    torch.save(state, offline / osp.basename(VGG19_URL))
    assert hub_cache_file(VGG19_URL) == str(offline / 'vgg19-dcbb9e9d.pth')
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no random-init warning
        vgg = VGG19Features('relu1_2', pretrained=VGG19_URL)
    assert not torch.equal(vgg[0].weight, state['features.0.weight'])
    vgg.init_weights()
    for key, value in vgg.state_dict().items():
        assert torch.equal(value, state[f'features.{key}'])


def test_missing_weights_offline_one_line_naming_key_and_file(offline):
    vgg = VGG19Features('relu1_2', pretrained=VGG19_URL)
    with pytest.raises(MissingPretrainedWeightsError) as error:
        vgg.init_weights()
    message = str(error.value)
    assert '\n' not in message and message.startswith('VGG19Features.pretrained: ')
    assert VGG19_URL in message and str(offline) in message
    assert message.endswith(f'put {VGG19_URL} into {offline}/ or set '
                            'VGG19Features.pretrained=/path/to/vgg19-dcbb9e9d.pth')
    assert not offline.exists() or not list(offline.iterdir())  # no partial download left


def test_missing_local_file_names_the_file_and_where_to_get_it(tmp_path):
    vgg = VGG19Features('relu1_2', pretrained=str(tmp_path / 'nope.pth'))
    with pytest.raises(FileNotFoundError) as error:
        vgg.init_weights()
    assert str(error.value) == (f'VGG19Features.pretrained: pretrained VGG-19 file not found: '
                                f'{tmp_path / "nope.pth"}; get the VGG-19 weights ({VGG19_URL}) '
                                f'and set VGG19Features.pretrained=/path/to/vgg19-dcbb9e9d.pth')
    torch.save({'features.0.weight': torch.zeros(64, 3, 3, 3)}, tmp_path / 'partial.pth')
    with pytest.raises(KeyError, match='features.0.bias'):
        VGG19Features('relu1_1', pretrained=str(tmp_path / 'partial.pth')).init_weights()
    torch.save({
        'features.0.weight': torch.zeros(1),
        'features.0.bias': torch.zeros(64)
    }, tmp_path / 'shape.pth')
    with pytest.raises(ValueError, match="'features.0.weight' of shape"):
        VGG19Features('relu1_1', pretrained=str(tmp_path / 'shape.pth')).init_weights()


@MODELS.register_module(force=True)
class _PerceptualProbe(BasePartSegmentor):
    """A part segmentor holding a perceptual loss, to check the key named in the error."""

    def __init__(self, reconstruction_loss):
        super().__init__(num_parts=1)
        self.reconstruction_loss = MODELS.build(reconstruction_loss)

    def part_logits(self, inputs):
        return inputs

    def loss(self, inputs, data_samples=None):
        return {}


def test_a_model_names_the_full_config_key(offline):
    with DefaultScope.overwrite_default_scope('partseg'):
        model = MODELS.build(
            dict(
                type='_PerceptualProbe',
                reconstruction_loss=dict(
                    type='PerceptualLoss', layers=('conv1_2', ), pretrained=VGG19_URL)))
    with pytest.raises(FileNotFoundError) as error:
        model.init_weights()
    message = str(error.value)
    assert message.startswith('model.reconstruction_loss.pretrained: vgg19-dcbb9e9d.pth is not in '
                              "torch's hub cache and cannot be downloaded")
    assert message.endswith('or set model.reconstruction_loss.pretrained='
                            '/path/to/vgg19-dcbb9e9d.pth')
    # with the file in the cache, the same model initialises
    offline.mkdir(parents=True, exist_ok=True)
    state = fake_vgg19_state()
    torch.save(state, offline / 'vgg19-dcbb9e9d.pth')
    model.init_weights()
    assert torch.equal(model.reconstruction_loss.vgg[2].weight, state['features.2.weight'])
