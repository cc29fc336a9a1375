"""Config loading of the tools: overrides that work or say why, --data-root, --stage1-checkpoint."""
import os.path as osp

import pytest
from mmengine.config import Config

from partseg.utils.cli import (UserError, load_config, set_data_root, set_stage1_checkpoint,
                               stage2_config_hint)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs')
SYNTHETIC = osp.join(CONFIGS, 'dispart', 'synthetic_k4.py')
CELEBA = osp.join(CONFIGS, 'dispart', 'celeba_wild_k8.py')
TAICHI = osp.join(CONFIGS, 'ganseg', 'taichi_k10_stage2_iou.py')
STAGE2 = osp.join(CONFIGS, 'ganseg', 'synthetic_k4_stage2.py')


def test_num_workers_zero_turns_persistent_workers_off():
    """Issue 18.1: torch refuses persistent_workers=True without workers."""
    assert load_config(CELEBA).train_dataloader.persistent_workers is True
    cfg = load_config(CELEBA, {'train_dataloader.num_workers': 0})
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.val_dataloader.persistent_workers is True  # the other loaders keep their workers
    cfg = load_config(CELEBA, {'val_dataloader.num_workers': 0})
    assert cfg.val_dataloader.persistent_workers is False
    assert cfg.train_dataloader.persistent_workers is True


def test_num_workers_zero_with_explicit_persistent_workers_names_the_key():
    with pytest.raises(
            UserError,
            match=r'train_dataloader\.persistent_workers=True needs '
            r'train_dataloader\.num_workers > 0'):
        load_config(CELEBA, {
            'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': True
        })


@pytest.mark.parametrize('key, value, fragments', [
    ('data_root', '/data/celeba', ['data_root is a variable of', 'changes nothing', '--data-root']),
    ('image_size', 64, ['image_size is a variable', 'train_dataloader.dataset.image_size']),
])
def test_overriding_a_config_variable_names_what_to_set(key, value, fragments):
    """Issue 18.3: a top-level variable is resolved when the file is read; overriding it did
    nothing and said nothing."""
    config = CELEBA if key == 'data_root' else SYNTHETIC
    with pytest.raises(UserError) as info:
        load_config(config, {key: value})
    for fragment in fragments:
        assert fragment in str(info.value)


def test_overriding_stage1_checkpoint_variable_names_the_flag():
    with pytest.raises(UserError, match=r'stage1_checkpoint is a variable.*--stage1-checkpoint'):
        load_config(STAGE2, {'stage1_checkpoint': 'x.pth'})


def test_keys_mmengine_reads_stay_overridable():
    cfg = load_config(SYNTHETIC, {'load_from': 'a.pth', 'sync_bn': 'torch', 'work_dir': 'w'})
    assert (cfg.load_from, cfg.sync_bn, cfg.work_dir) == ('a.pth', 'torch', 'w')


def test_data_root_sets_every_dataset(tmp_path):
    cfg = load_config(CELEBA)
    roots = [d for d in _all_datasets(cfg) if 'data_root' in d]
    assert len(roots) == 5  # train, and val and test each a ConcatDataset of two
    assert set_data_root(cfg, str(tmp_path)) == 5
    assert all(d['data_root'] == str(tmp_path) for d in roots)


def test_data_root_keeps_a_dataset_subfolder(tmp_path):
    """taichi's training images are data_root + '/train': they become DIR/train."""
    cfg = load_config(osp.join(CONFIGS, 'ganseg', 'taichi_k10.py'))
    set_data_root(cfg, str(tmp_path))
    assert cfg.train_dataloader.dataset.data_root == f'{tmp_path}/train'
    cfg = load_config(TAICHI)
    set_data_root(cfg, str(tmp_path))
    assert cfg.test_dataloader.dataset.data_root == str(tmp_path)


def test_data_root_refused_for_synthetic_data_and_missing_folders(tmp_path):
    with pytest.raises(UserError, match='no dataset of .*synthetic_k4.py reads a data_root'):
        set_data_root(load_config(SYNTHETIC), str(tmp_path))
    with pytest.raises(UserError, match='--data-root: folder not found: .*nowhere'):
        set_data_root(load_config(CELEBA), str(tmp_path / 'nowhere'))


def test_stage1_checkpoint_sets_the_pairs_dataset(tmp_path):
    checkpoint = tmp_path / 'stage1.pth'
    checkpoint.write_bytes(b'x')
    cfg = load_config(STAGE2)
    set_stage1_checkpoint(cfg, str(checkpoint))
    assert cfg.train_dataloader.dataset.checkpoint == str(checkpoint)
    with pytest.raises(UserError, match='synthetic_k4.py is not a stage-2 config'):
        set_stage1_checkpoint(load_config(SYNTHETIC), str(checkpoint))
    with pytest.raises(UserError, match='checkpoint not found: .*missing.pth'):
        set_stage1_checkpoint(cfg, str(tmp_path / 'missing.pth'))


def test_stage2_config_hint():
    assert stage2_config_hint(osp.join(CONFIGS, 'ganseg',
                                       'cub_k8.py')) == osp.join(CONFIGS, 'ganseg',
                                                                 'cub_k8_stage2.py')
    assert 'mine_stage2.py' in stage2_config_hint('/nowhere/mine.py')


def _all_datasets(cfg: Config):
    from partseg.utils.cli import config_datasets
    return config_datasets(cfg)
