"""Distributed runs without a GPU: ``torchrun`` + gloo on CPU through MMEngine's Runner.

MMEngine 0.10.7 cannot start a multi-process run on a CPU-only machine as it stands:

- ``mmengine.dist.init_dist`` calls ``torch.cuda.set_device(LOCAL_RANK)`` before it creates the
  process group ("Found no NVIDIA driver");
- ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to every ``DistributedDataParallel``
  wrapper, which PyTorch refuses for a module on the CPU;
- the shipped runtime asks for the ``nccl`` backend, which needs CUDA;
- ``SyncBatchNorm`` (``SyncBN`` in a config, or ``sync_bn``) only runs on GPUs.

:func:`prepare_distributed` fixes the config before the Runner is built and, on a CPU, creates the
process group itself (the Runner then finds it initialised and skips ``init_dist``). With a CUDA
device, or without a launcher, it changes nothing.

:func:`save_unwrapped_state_dict` is for every distributed run: a GAN under
``MMSeparateDistributedDataParallel`` has its generator and discriminator each wrapped in a DDP,
and its state dict (what a checkpoint holds) would name ``generator.module.*`` instead of
``generator.*``, which a single-process run cannot load.
"""
import datetime
import os
from typing import Callable, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.registry import MODEL_WRAPPERS
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from partseg.utils.model_wrapper import unwrap

__all__ = [
    'prepare_distributed', 'cpu_dist_backend', 'replace_sync_bn', 'save_unwrapped_state_dict'
]

# Norm-layer types of mmcv's build_norm_layer that synchronise statistics across processes.
SYNC_BN_TYPES = ('SyncBN', 'MMSyncBN')


def cpu_dist_backend(backend: str) -> str:
    """The process-group backend to use without CUDA: gloo instead of nccl, others unchanged."""
    return 'gloo' if backend == 'nccl' else backend


def replace_sync_bn(node, path: str = 'model') -> list:
    """Turn every ``SyncBN`` / ``MMSyncBN`` norm config under ``node`` into ``BN`` in place.

    Returns the config paths changed (e.g. ``['model.generator.norm_cfg']``).
    """
    changed = []
    if isinstance(node, dict):
        if node.get('type') in SYNC_BN_TYPES:
            node['type'] = 'BN'
            changed.append(path)
        for key, value in node.items():
            changed += replace_sync_bn(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            changed += replace_sync_bn(value, f'{path}.{index}')
    return changed


def prepare_distributed(cfg: Config,
                        launcher: str,
                        note: Callable[[str], None] = print) -> Optional[str]:
    """Make ``cfg`` runnable under ``launcher`` on this machine; returns the CPU backend used.

    Nothing happens (returns None) for ``launcher='none'`` or when CUDA is available. Otherwise
    (torchrun on a CPU machine):

    - ``env_cfg.dist_cfg.backend`` 'nccl' becomes 'gloo' and the process group is created here
      from torchrun's environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``),
      with ``env_cfg.dist_cfg.timeout`` (seconds) if set;
    - the model wrapper (``model_wrapper_cfg``, default ``MMDistributedDataParallel``) gets
      ``device_ids=None``;
    - ``SyncBN`` norm configs and ``sync_bn`` become plain BN (per-process batch statistics), as
      MMEngine itself does for a non-distributed run; ``note`` reports each change once (rank 0).

    Raises ValueError naming the launcher for 'slurm' / 'mpi' without CUDA (use torchrun).
    """
    if launcher == 'none' or torch.cuda.is_available():
        return None
    if launcher != 'pytorch':
        raise ValueError(f'--launcher {launcher}: distributed runs without a CUDA device are only '
                         f'supported with torchrun (--launcher pytorch)')
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        if key not in os.environ:
            raise ValueError(f'--launcher pytorch: environment variable {key} is not set; start '
                             f'the tool with torchrun (tools/dist_train.sh, tools/dist_test.sh)')
    is_rank0 = os.environ['RANK'] == '0'
    report = note if is_rank0 else (lambda message: None)

    env_cfg = cfg.get('env_cfg') or {}
    dist_cfg = dict(env_cfg.get('dist_cfg') or {})
    requested = dist_cfg.pop('backend', 'nccl')
    backend = cpu_dist_backend(requested)
    if backend != requested:
        report(f'partseg: no CUDA device: env_cfg.dist_cfg.backend {requested} -> {backend}')
    init_backend = dist_cfg.pop('init_backend', 'torch')
    if init_backend != 'torch':
        raise ValueError(f"env_cfg.dist_cfg.init_backend={init_backend!r} is not supported "
                         f"without a CUDA device (only 'torch')")
    timeout = dist_cfg.pop('timeout', None)
    if timeout is not None:
        dist_cfg['timeout'] = datetime.timedelta(seconds=timeout)

    changed = replace_sync_bn(cfg.get('model'))
    if cfg.get('sync_bn') is not None:
        cfg.sync_bn = None
        changed.append('sync_bn')
    if changed:
        report(f'partseg: no CUDA device: SyncBatchNorm runs on GPUs only, plain BN (statistics '
               f'per process) used for {", ".join(changed)}')

    wrapper = cfg.get('model_wrapper_cfg')
    if wrapper is None:
        wrapper = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper_type = MODEL_WRAPPERS.get(wrapper.get('type', 'MMDistributedDataParallel'))
    if wrapper_type is None:
        raise KeyError(f'model_wrapper_cfg.type {wrapper.get("type")!r} is not a registered '
                       f'model wrapper')
    if isinstance(wrapper_type, type) and issubclass(wrapper_type, DistributedDataParallel):
        wrapper['device_ids'] = None  # the Runner would pass [LOCAL_RANK], a CUDA device index
    cfg.model_wrapper_cfg = wrapper

    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend=backend, **dist_cfg)
    return backend


def save_unwrapped_state_dict(model: nn.Module) -> None:
    """Make the model's ``state_dict()`` name the weights of wrapped children without ``.module``.

    ``model`` is the Runner's model, wrapped or not; the hook goes on the model inside the outer
    wrapper (what MMEngine saves). For every descendant of it that is a model wrapper (the DDP
    of a generator under ``MMSeparateDistributedDataParallel``), keys ``<path>.module.<rest>``
    become ``<path>.<rest>``, so checkpoints are the same whether training ran on one process or
    several. Loading needs nothing: MMEngine's ``load_state_dict`` unwraps wrappers itself.
    A no-op for a model without wrapped children; installing it twice is harmless.
    """
    model = unwrap(model)
    wrapped = [name for name, module in model.named_modules() if name and is_model_wrapper(module)]
    if not wrapped or getattr(model, '_partseg_unwrapped_state_dict', False):
        return

    def rename(key: str, prefix: str) -> str:
        """``key`` without the wrapper level (``a.module.b`` -> ``a.b``, ``a.module`` -> ``a``)."""
        for name in wrapped:
            old = f'{prefix}{name}.module'
            if key == old:
                return f'{prefix}{name}'
            if key.startswith(old + '.'):
                return f'{prefix}{name}.' + key[len(old) + 1:]
        return key

    def hook(module, state_dict, prefix, local_metadata):
        # in place: (key, value) pairs in their order, keys renamed
        items = [(rename(key, prefix), value) for key, value in state_dict.items()]
        state_dict.clear()
        state_dict.update(items)
        metadata = getattr(state_dict, '_metadata', None)
        if metadata is not None:  # keyed by module path; the inner module's entry replaces the
            entries = [(rename(key, prefix), value) for key, value in metadata.items()]  # wrapper's
            metadata.clear()
            metadata.update(entries)

    model._register_state_dict_hook(hook)
    model._partseg_unwrapped_state_dict = True
