# GANSeg stage 2 (configs/ganseg/synthetic_k4_stage2.py) shrunk for tests: a ResNet-18 DeepLabV3
# of width 8 trained on 8 pairs from a tiny stage-1 generator (tests/data/configs/ganseg_tiny.py;
# set train_dataloader.dataset.checkpoint to its checkpoint), batch 2, 4 iterations, a checkpoint
# every 2; scored on 8 + 8 synthetic 32-px images.
_base_ = ['../../../configs/ganseg/synthetic_k4_stage2.py']

model = dict(
    backbone=dict(depth=18, stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=64, channels=8, dilations=(1, 2, 3, 4)))
train_dataloader = dict(
    batch_size=2,
    dataset=dict(stage1_config='{{ fileDirname }}/ganseg_tiny.py', num_samples=8, batch_size=4))
test_dataloader = dict(
    batch_size=8,
    dataset=dict(datasets=[dict(num_samples=8), dict(num_samples=8)]))
train_cfg = dict(max_iters=4)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=-1))
randomness = dict(seed=0, deterministic=True)
