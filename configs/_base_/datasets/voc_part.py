# PASCAL VOC 2012 objects of one category (Liu et al. 2021 Sec. 4.3, Table 5, following SCOPS):
# each object cropped by its bounding box and resized to 128 x 128. Unsupervised training on the
# category's objects of the 'train' image set (ImageSets/Main), evaluation on the segmented 'val'
# images (ImageSets/Segmentation): IoU of the union of the predicted parts with the object's
# instance mask (SegmentationObject), averaged over objects. Difficult objects are skipped.
# The seven categories of the paper: sheep, bus, motorbike, horse, cow, aeroplane, car. A config
# for another one overrides the category in every loader (a base variable such as `category` is
# substituted when this file is read, and val_dataloader is a copy of test_dataloader):
#     train_dataloader = dict(dataset=dict(category='bus'))
#     test_dataloader = dict(dataset=dict(category='bus'))
#     val_dataloader = test_dataloader
# crop_padding: box enlargement per side as a fraction of its size; 0 crops the box itself.
dataset_type = 'VOCPartDataset'
data_root = 'data/VOCdevkit/VOC2012'
image_size = 128
category = 'sheep'
crop_padding = 0.0

train_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='CropToBBox', padding=crop_padding),
    dict(type='ResizeParts', scale=(image_size, image_size)),
    dict(type='RandomFlipParts', prob=0.5),
    dict(type='PackPartInputs'),
]
test_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='LoadFgMask', rule='label'),
    dict(type='CropToBBox', padding=crop_padding),
    dict(type='ResizeParts', scale=(image_size, image_size)),
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
        category=category,
        image_set='train',
        pipeline=train_pipeline))

test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        category=category,
        image_set='val',
        with_masks=True,
        pipeline=test_pipeline))
val_dataloader = test_dataloader

test_evaluator = [dict(type='ForegroundIoUMetric')]
val_evaluator = test_evaluator
