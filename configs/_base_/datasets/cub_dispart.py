# CUB-1 / CUB-2 / CUB-3 of Liu et al. 2021 Sec. 4.3 (Table 4, following SCOPS): the images of one
# of the first three CUB-200-2011 classes, cropped to the bird's bounding box and resized to
# 128 x 128. Unsupervised training on the class's official training images; landmark regression
# without bias from the part centres to the 15 annotated parts, fitted on the training images and
# scored on the test images (visible parts only), with x and y errors normalised by the box width
# and height, in %.
# A CUB-2 / CUB-3 config overrides the class in every loader (a base variable such as `category`
# is substituted when this file is read, and val_dataloader is a copy of test_dataloader):
#     train_dataloader = dict(dataset=dict(categories=(2, )))
#     test_dataloader = dict(dataset=dict(categories=(2, )))
#     val_dataloader = test_dataloader
dataset_type = 'CUBDataset'
data_root = 'data/CUB_200_2011'
image_size = 128
category = 1

train_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='CropToBBox'),
    dict(type='ResizeParts', scale=(image_size, image_size)),
    dict(type='PackPartInputs'),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        protocol='official',
        split='train',
        categories=(category, ),
        pipeline=train_pipeline))

# One dataset holds both halves of the regression protocol: regression_split='official' tags the
# class's official training images 'train' (fit) and its test images 'test' (scored).
test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        protocol='official',
        split='all',
        categories=(category, ),
        regression_split='official',
        pipeline=test_pipeline))
val_dataloader = test_dataloader

# The paper's metric first (landmark_norm = box (w, h), scaled with the crop by ResizeParts);
# then NMI / ARI of keypoint id vs. predicted part at the visible landmarks (Choudhury et al.
# 2021; not in the DisPart / GANSeg tables), scored like the landmark error on the class's test
# images only (split='test').
test_evaluator = [
    dict(type='LandmarkRegressionMetric', fit='no_bias'),
    dict(type='PartNMIARIMetric', split='test'),
]
val_evaluator = test_evaluator
