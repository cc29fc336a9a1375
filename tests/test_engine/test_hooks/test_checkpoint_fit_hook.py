"""CheckpointFitHook: a checkpoint of another K or method is refused by name before loading."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.registry import MODEL_WRAPPERS
from torch import nn

from partseg.engine.hooks import CheckpointFitHook


class TwoLayers(nn.Module):

    def __init__(self, num_parts: int = 4) -> None:
        super().__init__()
        self.body = nn.Linear(3, 8)
        self.head = nn.Linear(8, num_parts + 1)


def runner(model, resume, load_from='work/iter_2.pth'):
    return SimpleNamespace(model=model, _resume=resume, _load_from=load_from, work_dir='work')


def checkpoint_of(model, prefix=''):
    return dict(
        meta=dict(iter=2),
        state_dict={
            prefix + k: v.clone()
            for k, v in model.state_dict().items()
        })


@pytest.mark.parametrize('resume', [True, False])
def test_a_fitting_checkpoint_passes(resume):
    model = TwoLayers()
    CheckpointFitHook().after_load_checkpoint(runner(model, resume), checkpoint_of(model))
    # saved from a DDP-wrapped model: MMEngine strips 'module.' when loading
    CheckpointFitHook().after_load_checkpoint(
        runner(model, resume), checkpoint_of(model, 'module.'))


def test_resume_with_another_k_names_the_file_and_the_tensor():
    with pytest.raises(ValueError) as error:
        CheckpointFitHook().after_load_checkpoint(
            runner(TwoLayers(3), True), checkpoint_of(TwoLayers(4)))
    message = str(error.value)
    assert message.startswith('cannot resume: checkpoint work/iter_2.pth does not fit TwoLayers')
    assert 'head.weight is (5, 8) in the checkpoint but (4, 8) in the model (2 such tensors' \
        in message
    assert '\n' not in message


def test_resume_with_missing_or_extra_tensors():
    small, big = TwoLayers(), TwoLayers()
    big.extra = nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r'0 missing keys .*, 2 unexpected keys'):
        CheckpointFitHook().after_load_checkpoint(runner(small, True), checkpoint_of(big))


def test_checkpoint_of_another_model_is_refused_for_load_from_too():
    other = dict(state_dict=dict(generator_weight=torch.zeros(2)))
    for resume in (True, False):
        with pytest.raises(ValueError, match='work/iter_2.pth holds no weights of TwoLayers'):
            CheckpointFitHook().after_load_checkpoint(runner(TwoLayers(), resume), other)


def test_load_from_keeps_mmengine_partial_loading():
    # fine-tuning from another K: the matching tensors load (MMEngine warns about the others)
    CheckpointFitHook().after_load_checkpoint(
        runner(TwoLayers(3), False), checkpoint_of(TwoLayers(4)))


class FakeWrapper(nn.Module):
    """Stands for the DDP wrapping each network under MMSeparateDistributedDataParallel."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module


@pytest.fixture
def fake_wrapper():
    MODEL_WRAPPERS.register_module(module=FakeWrapper, force=True)
    yield FakeWrapper
    MODEL_WRAPPERS.module_dict.pop('FakeWrapper')


def test_wrapped_children_match_a_checkpoint_saved_without_the_wrapper(fake_wrapper):
    plain = TwoLayers()
    wrapped = TwoLayers()
    wrapped.body = fake_wrapper(wrapped.body)  # state dict keys body.module.weight, ...
    assert 'body.module.weight' in wrapped.state_dict()
    CheckpointFitHook().after_load_checkpoint(runner(wrapped, True), checkpoint_of(plain))
    CheckpointFitHook().after_load_checkpoint(runner(wrapped, True), checkpoint_of(wrapped))
    with pytest.raises(ValueError, match='head.weight is'):
        CheckpointFitHook().after_load_checkpoint(
            runner(wrapped, True), checkpoint_of(TwoLayers(2)))
