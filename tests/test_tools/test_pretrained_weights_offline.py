"""tools/train.py offline with a config that names torchvision's VGG-19 URL (issue 21 item 3):
with the file in torch's hub cache it trains on it (without it, it stops in one line naming the
key and the file: tests/test_tools/test_bad_inputs.py). The network is blocked in the tool's
process and the hub cache is a temporary TORCH_HOME holding a small fake VGG-19 state_dict (the
first two convs)."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from partseg.engine.checkpoint import safe_load
from partseg.models.backbones import VGG19_URL

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'tests', 'data', 'configs', 'dispart_tiny.py')
# tools/train.py in a process whose every connection attempt fails
OFFLINE_TRAIN = '''
import runpy, socket, sys
def refuse(*args, **kwargs):
    raise OSError('network disabled in this test')
socket.getaddrinfo = refuse
socket.socket.connect = refuse
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


@pytest.fixture
def setup(tmp_path):
    config = tmp_path / 'perceptual_tiny.py'
    config.write_text(f'_base_ = [{TINY!r}]\n'
                      'model = dict(reconstruction_loss=dict(_delete_=True, type="PerceptualLoss", '
                      f'layers=("input", "conv1_2"), pretrained={VGG19_URL!r}))\n'
                      'val_dataloader = None\nval_cfg = None\nval_evaluator = None\n')
    env = dict(
        os.environ,
        TORCH_HOME=str(tmp_path / 'torch'),
        CUDA_VISIBLE_DEVICES='',
        OMP_NUM_THREADS='1',
        PYTHONWARNINGS='ignore')
    return config, env, tmp_path / 'torch' / 'hub' / 'checkpoints'


def train(config, work_dir, env):
    return subprocess.run([
        sys.executable, '-c', OFFLINE_TRAIN,
        osp.join(ROOT, 'tools', 'train.py'), config, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_iters=1'
    ],
                          capture_output=True,
                          text=True,
                          cwd=ROOT,
                          env=env,
                          timeout=300)


def test_offline_with_the_weights_in_the_hub_cache_trains_on_them(setup, tmp_path):
    config, env, hub_dir = setup
    hub_dir.mkdir(parents=True)
    torch.manual_seed(0)
    fake = {
        'features.0.weight': torch.randn(64, 3, 3, 3) * 0.1,
        'features.0.bias': torch.randn(64) * 0.1,
        'features.2.weight': torch.randn(64, 64, 3, 3) * 0.05,
        'features.2.bias': torch.randn(64) * 0.1
    }
    torch.save(fake, hub_dir / 'vgg19-dcbb9e9d.pth')
    proc = train(config, tmp_path / 'run', env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = safe_load(tmp_path / 'run' / 'iter_1.pth')['state_dict']
    for key in ('0.weight', '2.bias'):  # frozen, so the checkpoint holds the file's values
        assert torch.equal(state[f'reconstruction_loss.vgg.{key}'], fake[f'features.{key}'])
