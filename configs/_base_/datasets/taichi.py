# Tai-Chi-HD of He et al. 2022 Sec. 4.1 (Table 3), with the evaluation files of Siarohin et al.
# 2021: GAN / model training on the unlabeled frames under train/<video>/, the 256 px evaluation
# images resized to 128 x 128; keypoint MAE = per-coordinate linear regression WITH bias from the
# part centres, fitted on the 5,000 eval_images/taichi-256/train images where the keypoint exists
# and scored on the 300 test images, summed over the 36 coordinates, in pixels of the 256 px
# images (the official code's frame); foreground IoU on the test images.
# Prepare once: python tools/dataset_converters/taichi.py data/taichi  (needs pandas)
#
# The IoU row needs its own run on the test images only (ForegroundIoUMetric needs a GT mask on
# every sample, and the regression-fit images have none): a config for it sets
#   test_dataloader = {{_base_.taichi_iou_dataloader}}
#   test_evaluator = {{_base_.taichi_iou_evaluator}}
dataset_type = 'TaichiDataset'
data_root = 'data/taichi'
image_size = 128

train_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='ResizeParts', scale=(image_size, image_size)),
    dict(type='RandomFlipParts', prob=0.5),
    dict(type='PackPartInputs'),
]
test_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='ResizeParts', scale=(image_size, image_size)),
    dict(type='PackPartInputs'),
]
# GANSeg resizes the 0/255 test masks bilinearly and keeps the pixels equal to 255.
iou_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='ResizeParts', scale=(image_size, image_size)),
    dict(type='LoadFgMask', rule='threshold', threshold=254.5, rule_after_resize=True),
    dict(type='PackPartInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ImageFolderDataset', data_root=data_root + '/train', pipeline=train_pipeline))

test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(
                type=dataset_type,
                data_root=data_root,
                split='train',
                regression_split='train',
                pipeline=test_pipeline),
            dict(
                type=dataset_type,
                data_root=data_root,
                split='test',
                with_masks=False,
                regression_split='test',
                pipeline=test_pipeline),
        ]))
val_dataloader = test_dataloader
# The paper's MAE first; then NMI / ARI of keypoint id vs. predicted part at the visible
# keypoints (Choudhury et al. 2021; not in the GANSeg table), on the 300 test images only.
test_evaluator = [
    dict(type='LandmarkRegressionMetric', fit='bias', mode='mae_sum', error_frame='ori_shape'),
    dict(type='PartNMIARIMetric', split='test'),
]
val_evaluator = test_evaluator

taichi_iou_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=iou_pipeline))
taichi_iou_evaluator = [dict(type='ForegroundIoUMetric')]
