# CUB-200-2011 foreground segmentation of He et al. 2022 Sec. 4.1 (Table 2): the 10,000 / 788 /
# 1,000 train / val / test split of Chen et al. 2019 (train_val_test_split.txt in the CUB root),
# whole image resized to 128 x 128, foreground IoU (argmax != background) against the
# segmentations/ mask resized bilinearly to 128 px and thresholded at > 127.5 (the order of the
# official GANSeg code), averaged over the test images. The training images get the official
# loader's random flip and RandomResizedCrop (area 0.9-1.0, aspect ratio 0.9-1.1).
dataset_type = 'CUBDataset'
data_root = 'data/CUB_200_2011'
image_size = 128

train_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='ResizeParts', scale=(image_size, image_size)),
    dict(type='RandomFlipParts', prob=0.5),
    # the official loader's RandomResizedCrop: 90-100 % of the area, width / height 0.9-1.1,
    # resized back to image_size (GANSeg stage 1 only: the stage-2 configs replace this loader)
    dict(type='RandomResizedCropParts', crop_ratio_range=(0.9, 1.0), aspect_ratio_range=(0.9, 1.1)),
    dict(type='PackPartInputs'),
]
test_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='ResizeParts', scale=(image_size, image_size)),
    dict(type='LoadFgMask', rule='threshold', threshold=127.5, rule_after_resize=True),
    dict(type='PackPartInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        protocol='ganseg',
        split='train',
        pipeline=train_pipeline))

test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        protocol='ganseg',
        split='test',
        with_masks=True,
        pipeline=test_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        protocol='ganseg',
        split='val',
        with_masks=True,
        pipeline=test_pipeline))

test_evaluator = [dict(type='ForegroundIoUMetric')]
val_evaluator = test_evaluator
