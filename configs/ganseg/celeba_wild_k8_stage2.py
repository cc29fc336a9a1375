# GANSeg stage 2 on CelebA in the wild, K = 8: DeepLabV3-R50 trained on 64,000 image / mask pairs
# from the frozen stage-1 generator (configs/ganseg/celeba_wild_k8.py), Adam 3e-4, batch 64, 10k
# iterations (appendix B.4), then scored on MAFL (landmark regression without bias).
#   python tools/train.py configs/ganseg/celeba_wild_k8_stage2.py \
#       --cfg-options \
#       train_dataloader.dataset.checkpoint=work_dirs/celeba_wild_k8/iter_30000.pth
#   python tools/test.py configs/ganseg/celeba_wild_k8_stage2.py \
#       work_dirs/celeba_wild_k8_stage2/iter_10000.pth
_base_ = [
    '../_base_/models/ganseg_segmenter.py', '../_base_/datasets/celeba_wild.py',
    '../_base_/schedules/iter_10k_adam.py', '../_base_/default_runtime.py'
]

num_parts = 8
stage1_checkpoint = 'work_dirs/celeba_wild_k8/iter_30000.pth'

model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    decode_head=dict(num_classes=num_parts + 1))

# Pairs are sampled once on the GPU when available ('auto'), 64,000 like one official epoch.
train_dataloader = dict(
    _delete_=True,
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='GeneratedPairsDataset',
        checkpoint=stage1_checkpoint,
        num_parts=num_parts,
        num_samples=64000,
        batch_size=256,
        device='auto',
        pipeline=[dict(type='LoadPartImage'), dict(type='PackPartInputs')]))

# No validation while training (the official code has none); tools/test.py scores test_dataloader.
val_dataloader = None
val_evaluator = None
val_cfg = None
