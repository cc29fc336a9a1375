# GANSeg stage 2 on aligned CelebA, K = 10 (He et al. 2022 Table 1: 3.98 %): DeepLabV3-R50 on
# pairs from the generator of configs/ganseg/celeba_aligned_k10.py, scored on MAFL.
#   python tools/train.py configs/ganseg/celeba_aligned_k10_stage2.py
#   python tools/test.py configs/ganseg/celeba_aligned_k10_stage2.py \
#       work_dirs/celeba_aligned_k10_stage2/iter_10000.pth
# Another stage-1 run: --cfg-options train_dataloader.dataset.checkpoint=PATH
#   train_dataloader.dataset.stage1_config=ITS_CONFIG
_base_ = ['../_base_/ganseg_stage2.py', '../_base_/datasets/celeba_aligned.py']

num_parts = 10
# the stage-1 config: the generator is built from its model.generator, never from the checkpoint
stage1_config = '{{ fileDirname }}/celeba_aligned_k10.py'
# written by: python tools/train.py configs/ganseg/celeba_aligned_k10.py
stage1_checkpoint = 'work_dirs/celeba_aligned_k10/iter_30000.pth'

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
# the official test_seg.py regression: centroids on its grid linspace(0, image_size, S) (this
# matters without bias) and X^T X + I where X^T X cannot be inverted
test_evaluator = [
    dict(
        type='LandmarkRegressionMetric',
        fit='no_bias',
        centroid_grid='linspace',
        ridge_lambda=1.0,
        ridge_scale='absolute'),
    dict(type='PartNMIARIMetric', split='test'),
]
