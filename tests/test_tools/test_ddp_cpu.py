"""Distributed training and testing on CPU: ``torchrun --nproc_per_node=2`` with gloo through
tools/train.py and tools/test.py (DisPart and GANSeg stage 1, a few iterations at 16-32 px).

Checks: both ranks hold identical parameters after training although they saw different data;
the rank-0 checkpoint holds the same weights under the plain (unwrapped) key names; the metrics
of a 2-process test equal the single-process ones on the same data.
"""
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch

from partseg.engine.checkpoint import safe_load

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'tests', 'data', 'configs')
DISPART_TINY = osp.join(CONFIGS, 'dispart_tiny.py')
GANSEG_TINY = osp.join(CONFIGS, 'ganseg_ddp_tiny.py')

# Each rank writes its parameters, buffers, the digest of its first batch and its torch seed
# after training; imported by the training processes through the config's custom_imports.
DUMP_HOOK = '''
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from partseg.registry import HOOKS


def _unwrap(module):
    return module.module if is_model_wrapper(module) else module


@HOOKS.register_module()
class RankStateDumpHook(Hook):
    """Saves <work_dir>/rank<r>.pth: this rank's unwrapped parameters and buffers."""

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if batch_idx == 0:
            self.first_batch = float(sum(x.double().sum() for x in data_batch['inputs']))

    def after_train(self, runner):
        model = _unwrap(runner.model)
        params = dict(model.named_parameters(recurse=False))
        buffers = dict(model.named_buffers(recurse=False))
        for name, child in model.named_children():
            child = _unwrap(child)
            params.update({f'{name}.{k}': v.detach().clone()
                           for k, v in child.named_parameters()})
            buffers.update({f'{name}.{k}': v.detach().clone() for k, v in child.named_buffers()})
        params = {k: v.detach().clone() for k, v in params.items()}
        buffers = {k: v.detach().clone() for k, v in buffers.items()}
        torch.save(dict(params=params, buffers=buffers, first_batch=self.first_batch,
                        seed=torch.initial_seed()),
                   osp.join(runner.work_dir, f'rank{get_rank()}.pth'))
'''


def _env(hook_dir=None):
    env = dict(
        os.environ,
        CUDA_VISIBLE_DEVICES='',
        OMP_NUM_THREADS='1',
        MKL_NUM_THREADS='1',
        PYTHONWARNINGS='ignore')
    path = [ROOT] + ([str(hook_dir)] if hook_dir else [])
    env['PYTHONPATH'] = os.pathsep.join(path + [env.get('PYTHONPATH', '')]).rstrip(os.pathsep)
    return env


def _torchrun(tool, *args, hook_dir=None):
    torchrun = osp.join(osp.dirname(sys.executable), 'torchrun')
    launcher = [torchrun
                ] if osp.isfile(torchrun) else [sys.executable, '-m', 'torch.distributed.run']
    cmd = launcher + [
        '--standalone', '--nproc_per_node=2',
        osp.join(ROOT, 'tools', tool), *map(str, args), '--launcher', 'pytorch'
    ]
    return subprocess.run(
        cmd, capture_output=True, text=True, cwd=ROOT, env=_env(hook_dir), timeout=400)


def _single(tool, *args):
    return subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', tool), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=300)


def _dump_config(tmp_path, base, extra=''):
    """A config inheriting ``base`` that adds the dump hook; returns (config path, hook dir)."""
    hook_dir = tmp_path / 'hooks'
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / 'rank_state_dump_hook.py').write_text(DUMP_HOOK)
    config = tmp_path / f'ddp_{osp.basename(base)}'
    config.write_text(
        textwrap.dedent(f'''
        _base_ = [{base!r}]
        custom_imports = dict(imports=['rank_state_dump_hook'], allow_failed_imports=False)
        custom_hooks = [dict(type='RankStateDumpHook')]
        ''') + textwrap.dedent(extra))
    return config, hook_dir


def _train_two_ranks(tmp_path, base, extra=''):
    config, hook_dir = _dump_config(tmp_path, base, extra)
    work_dir = tmp_path / 'work'
    proc = _torchrun('train.py', config, '--work-dir', work_dir, hook_dir=hook_dir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    ranks = [torch.load(work_dir / f'rank{r}.pth', weights_only=True) for r in (0, 1)]
    return work_dir, ranks, proc.stdout + proc.stderr


def _assert_same_parameters(ranks):
    first, second = ranks[0]['params'], ranks[1]['params']
    assert first.keys() == second.keys() and len(first) > 10
    differing = [k for k in first if not torch.equal(first[k], second[k])]
    assert not differing, f'{len(differing)} parameters differ between ranks, e.g. {differing[:3]}'


def _assert_checkpoint_is_rank0(work_dir, ranks, iteration):
    state = safe_load(work_dir / f'iter_{iteration}.pth', map_location='cpu')['state_dict']
    assert not [k for k in state if '.module.' in k], 'wrapper names leaked into the checkpoint'
    for key, value in ranks[0]['params'].items():
        assert torch.equal(state[key], value), key


# DisPart: one DDP around the model; no validation while training (tested below with test.py)
NO_VAL = '''
val_dataloader = None
val_evaluator = None
val_cfg = None
default_hooks = dict(checkpoint=dict(interval=4))
'''


@pytest.fixture(scope='module')
def dispart_run(tmp_path_factory):
    return _train_two_ranks(tmp_path_factory.mktemp('dispart_ddp'), DISPART_TINY, NO_VAL)


def test_dispart_ranks_hold_identical_weights(dispart_run):
    work_dir, ranks, log = dispart_run
    assert 'env_cfg.dist_cfg.backend nccl -> gloo' in log  # dispart_tiny keeps nccl
    assert 'Iter(train) [4/4]' in log
    # the ranks saw different images, so equal weights mean the gradients were averaged
    assert ranks[0]['first_batch'] != ranks[1]['first_batch']
    _assert_same_parameters(ranks)
    _assert_checkpoint_is_rank0(work_dir, ranks, 4)


def test_dispart_metrics_equal_single_process(dispart_run, tmp_path):
    work_dir, _, _ = dispart_run
    checkpoint = work_dir / 'iter_4.pth'
    single = _single('test.py', DISPART_TINY, checkpoint, '--work-dir', tmp_path / 'single')
    assert single.returncode == 0, single.stderr[-3000:]
    dist = _torchrun('test.py', DISPART_TINY, checkpoint, '--work-dir', tmp_path / 'dist', '--out',
                     'preds')
    assert dist.returncode == 0, dist.stdout[-3000:] + dist.stderr[-5000:]
    # both ranks wrote into the one partial folder that rank 0 moved into place (issue 17.7)
    preds = sorted(os.listdir(tmp_path / 'dist' / 'preds'))
    assert 'centroids.rank0.json' in preds and 'centroids.rank1.json' in preds
    assert len([n for n in preds if n.endswith('.png')]) == 16
    assert not [n for n in os.listdir(tmp_path / 'dist') if n.endswith('.partial')]
    metrics = {}
    for name in ('single', 'dist'):
        with open(tmp_path / name / 'metrics.json') as f:
            metrics[name] = json.load(f)['metrics']
    assert metrics['single'].keys() == metrics['dist'].keys()
    assert {'landmark_error', 'fg_iou', 'nmi', 'ari'} <= metrics['single'].keys()
    for key, value in metrics['single'].items():
        # nmi_fg / ari_fg are NaN (documented) when every keypoint falls on predicted background,
        # as after 4 iterations; then both runs must say NaN
        assert metrics['dist'][key] == pytest.approx(value, rel=1e-5, abs=1e-6, nan_ok=True), key


def test_ganseg_ranks_hold_identical_weights(tmp_path):
    work_dir, ranks, log = _train_two_ranks(tmp_path, GANSEG_TINY)
    assert 'Iter(train) [3/3]' in log
    # different real images and different noise (diff_rank_seed) on the two ranks
    assert ranks[0]['first_batch'] != ranks[1]['first_batch']
    assert ranks[0]['seed'] != ranks[1]['seed']
    _assert_same_parameters(ranks)
    assert int(ranks[0]['buffers']['num_d_steps']) == int(ranks[1]['buffers']['num_g_steps']) == 3
    _assert_checkpoint_is_rank0(work_dir, ranks, 3)
    # the checkpoint loads into a single-process model, strictly
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner.checkpoint import load_state_dict

    from partseg.registry import MODELS
    cfg = Config.fromfile(GANSEG_TINY)
    with DefaultScope.overwrite_default_scope('partseg'):
        model = MODELS.build(cfg.model)
    state = safe_load(work_dir / 'iter_3.pth', map_location='cpu')
    load_state_dict(model, state['state_dict'], strict=True)
    assert int(model.num_d_steps) == 3 and int(model.num_g_steps) == 3
