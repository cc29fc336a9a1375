# GANSeg stage 2 on Flowers, K = 8 (He et al. 2022 Table 2: foreground IoU 0.739): DeepLabV3-R50
# on pairs from the generator of configs/ganseg/flowers_k8.py.
#   python tools/train.py configs/ganseg/flowers_k8_stage2.py
#   python tools/test.py configs/ganseg/flowers_k8_stage2.py \
#       work_dirs/flowers_k8_stage2/iter_10000.pth
# Another stage-1 run: --cfg-options train_dataloader.dataset.checkpoint=PATH
#   train_dataloader.dataset.stage1_config=ITS_CONFIG
_base_ = ['../_base_/ganseg_stage2.py', '../_base_/datasets/flowers.py']

num_parts = 8
# the stage-1 config: the generator is built from its model.generator, never from the checkpoint
stage1_config = '{{ fileDirname }}/flowers_k8.py'
# written by: python tools/train.py configs/ganseg/flowers_k8.py
stage1_checkpoint = 'work_dirs/flowers_k8/iter_30000.pth'

model = dict(decode_head=dict(num_classes=num_parts + 1))
train_dataloader = dict(
    _base_.pairs_dataloader,
    dataset=dict(
        _base_.pairs_dataloader.dataset,
        num_parts=num_parts,
        checkpoint=stage1_checkpoint,
        stage1_config=stage1_config))
val_dataloader = None  # no validation while training (val_cfg = None in the stage-2 base)
val_evaluator = None
# the official test_seg.py IoU: I / (U + 1e-6) per image (an image with an empty union scores 0)
test_evaluator = [dict(type='ForegroundIoUMetric', smooth=1e-6)]
