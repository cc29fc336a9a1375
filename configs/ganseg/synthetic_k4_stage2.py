# GANSeg stage 2 on the synthetic dataset (K = 4), CPU-sized: a DeepLabV3 (ResNet-50 with its
# widths / 4, output stride 8, ASPP) trained on 4,000 pairs from the stage-1 generator of
# configs/ganseg/synthetic_k4.py, then scored on held-out synthetic images (landmark regression,
# foreground IoU, NMI / ARI), all at 32 px.
#   python tools/train.py configs/ganseg/synthetic_k4_stage2.py
#   python tools/test.py configs/ganseg/synthetic_k4_stage2.py \
#       work_dirs/synthetic_k4_stage2/iter_1000.pth
_base_ = [
    '../_base_/models/ganseg_segmenter.py', '../_base_/datasets/synthetic_parts.py',
    '../_base_/schedules/iter_10k_adam.py', '../_base_/default_runtime.py'
]

num_parts = 4
image_size = 32
stage1_checkpoint = 'work_dirs/synthetic_k4/iter_1000.pth'

model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    decode_head=dict(in_channels=512, channels=64, num_classes=num_parts + 1))

train_dataloader = dict(
    _delete_=True,
    batch_size=16,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='GeneratedPairsDataset',
        checkpoint=stage1_checkpoint,
        num_parts=num_parts,
        num_samples=4000,
        batch_size=64,
        device='cpu',
        pipeline=[dict(type='LoadPartImage'), dict(type='PackPartInputs')]))

test_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='PackPartInputs'),
]
test_dataloader = dict(
    _delete_=True,
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(
                type='SyntheticPartsDataset',
                num_samples=300,
                num_parts=num_parts,
                image_size=image_size,
                split='val',
                regression_split='train',
                pipeline=test_pipeline),
            dict(
                type='SyntheticPartsDataset',
                num_samples=300,
                num_parts=num_parts,
                image_size=image_size,
                split='test',
                regression_split='test',
                pipeline=test_pipeline),
        ]))
val_dataloader = None
val_evaluator = None
val_cfg = None

optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_iters=1000, val_interval=100000)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=500, max_keep_ckpts=2))
