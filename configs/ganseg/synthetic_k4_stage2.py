# GANSeg stage 2 on the synthetic dataset (K = 4), CPU-sized: a DeepLabV3 (ResNet-50 with its
# widths / 4, output stride 8, ASPP) trained on pairs from the stage-1 generator of
# configs/ganseg/synthetic_k4.py, then scored on held-out synthetic images (landmark regression,
# foreground IoU, NMI / ARI), all at 32 px.
#   python tools/train.py configs/ganseg/synthetic_k4_stage2.py
#   python tools/test.py configs/ganseg/synthetic_k4_stage2.py \
#       work_dirs/synthetic_k4_stage2/iter_1000.pth
_base_ = ['../_base_/ganseg_stage2.py', '../_base_/datasets/synthetic_parts.py']

num_parts = 4
image_size = 32
# the stage-1 config: the generator is built from its model.generator, never from the checkpoint
stage1_config = '{{ fileDirname }}/synthetic_k4.py'
# written by: python tools/train.py configs/ganseg/synthetic_k4.py
stage1_checkpoint = 'work_dirs/synthetic_k4/iter_1000.pth'

model = dict(
    backbone=dict(stem_channels=16, base_channels=16, init_cfg=None),
    decode_head=dict(in_channels=512, channels=64, num_classes=num_parts + 1))

# One pool of 4,000 pairs sampled on the CPU and reused ('never'): fresh pairs for each of the 4
# passes (1,000 iterations of 16) would cost 12,000 more generator samples on a CPU.
train_dataloader = dict(
    _base_.pairs_dataloader,
    batch_size=16,
    dataset=dict(
        _base_.pairs_dataloader.dataset,
        num_parts=num_parts,
        checkpoint=stage1_checkpoint,
        stage1_config=stage1_config,
        num_samples=4000,
        resample='never',
        num_epochs=1,
        device='cpu'))

# Resize so images of any size (tools/infer.py on a user's folder) are segmented at the 32 px the
# generator was trained at; the synthetic test images are 32 px already.
test_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='ResizeParts', scale=(image_size, image_size)),
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

optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_iters=1000, val_interval=100000)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=500, max_keep_ckpts=2))
