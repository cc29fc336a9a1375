"""partseg.utils.distributed: preparing a config for torchrun on a CPU, unwrapped state dicts."""
import socket

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from torch import nn

from partseg.utils.distributed import (cpu_dist_backend, prepare_distributed, replace_sync_bn,
                                       save_unwrapped_state_dict)

needs_cpu_only = pytest.mark.skipif(
    torch.cuda.is_available(), reason='prepare_distributed changes nothing with CUDA')


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def one_rank_env(monkeypatch):
    """torchrun's environment for a world of one process; the group is destroyed afterwards."""
    for key, value in dict(
            RANK='0',
            LOCAL_RANK='0',
            WORLD_SIZE='1',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(_free_port())).items():
        monkeypatch.setenv(key, value)
    yield
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def _cfg(**extra):
    return Config(
        dict(
            model=dict(
                type='M',
                generator=dict(norm_cfg=dict(type='SyncBN', affine=False)),
                layers=[dict(type='X', norm=dict(type='MMSyncBN')),
                        dict(type='BN')]),
            env_cfg=dict(dist_cfg=dict(backend='nccl')),
            **extra))


def test_cpu_dist_backend_swaps_only_nccl():
    assert cpu_dist_backend('nccl') == 'gloo'
    assert cpu_dist_backend('gloo') == 'gloo' and cpu_dist_backend('mpi') == 'mpi'


def test_replace_sync_bn_names_every_changed_path():
    cfg = _cfg()
    changed = replace_sync_bn(cfg.model)
    assert changed == ['model.generator.norm_cfg', 'model.layers.0.norm']
    assert cfg.model.generator.norm_cfg == dict(type='BN', affine=False)
    assert cfg.model.layers[0].norm.type == 'BN' and cfg.model.layers[1].type == 'BN'


def test_no_launcher_changes_nothing():
    cfg = _cfg()
    assert prepare_distributed(cfg, 'none') is None
    assert cfg.env_cfg.dist_cfg.backend == 'nccl' and 'model_wrapper_cfg' not in cfg
    assert cfg.model.generator.norm_cfg.type == 'SyncBN'


@needs_cpu_only
@pytest.mark.parametrize('launcher', ['slurm', 'mpi'])
def test_other_launchers_without_cuda_are_refused(launcher):
    with pytest.raises(ValueError, match=f'--launcher {launcher}: .*torchrun'):
        prepare_distributed(_cfg(), launcher)


@needs_cpu_only
def test_pytorch_launcher_needs_torchrun_environment(monkeypatch):
    monkeypatch.delenv('MASTER_PORT', raising=False)
    for key, value in dict(RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1').items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match='MASTER_PORT is not set'):
        prepare_distributed(_cfg(), 'pytorch')


@needs_cpu_only
def test_cpu_run_uses_gloo_plain_bn_and_no_device_ids(one_rank_env):
    notes = []
    cfg = _cfg(sync_bn='torch', find_unused_parameters=True)
    assert prepare_distributed(cfg, 'pytorch', note=notes.append) == 'gloo'
    assert torch_dist.is_initialized() and torch_dist.get_backend() == 'gloo'
    assert cfg.model.generator.norm_cfg.type == 'BN' and cfg.sync_bn is None
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=True,
        device_ids=None)
    assert notes[0] == 'partseg: no CUDA device: env_cfg.dist_cfg.backend nccl -> gloo'
    assert 'model.generator.norm_cfg' in notes[1] and 'sync_bn' in notes[1]


@needs_cpu_only
def test_cpu_run_keeps_a_configured_separate_wrapper(one_rank_env):
    cfg = _cfg(
        model_wrapper_cfg=dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False))
    cfg.env_cfg.dist_cfg.backend = 'gloo'
    notes = []
    prepare_distributed(cfg, 'pytorch', note=notes.append)
    assert cfg.model_wrapper_cfg == dict(
        type='MMSeparateDistributedDataParallel', broadcast_buffers=False, device_ids=None)
    assert not any('backend' in note for note in notes)


class _Gan(nn.Module):

    def __init__(self):
        super().__init__()
        self.generator = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
        self.discriminator = nn.Linear(3, 1)
        self.register_buffer('steps', torch.zeros(()))


def test_save_unwrapped_state_dict_strips_the_wrapper_level(one_rank_env):
    torch_dist.init_process_group('gloo')
    plain = _Gan()
    expected = list(plain.state_dict())
    gan = _Gan()
    gan.generator = MMDistributedDataParallel(gan.generator, device_ids=None)
    assert 'generator.module.0.weight' in gan.state_dict()
    save_unwrapped_state_dict(gan)
    save_unwrapped_state_dict(gan)  # a second install changes nothing
    state = gan.state_dict()
    assert list(state) == expected  # same names, same order
    assert torch.equal(state['generator.0.weight'], gan.generator.module[0].weight)
    assert 'generator' in state._metadata and 'generator.module' not in state._metadata
    plain.load_state_dict(state)  # a single-process model loads it strictly


def test_save_unwrapped_state_dict_unwraps_the_outer_wrapper_and_ignores_plain_models():
    model = _Gan()
    save_unwrapped_state_dict(model)
    assert not hasattr(model, '_partseg_unwrapped_state_dict')
    assert list(model.state_dict()) == list(_Gan().state_dict())
