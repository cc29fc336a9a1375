# CelebA in the wild with the MAFL landmark splits (He et al. 2022 Sec. 4.1; Liu et al. 2021
# Sec. 4.2, following SCOPS): unaligned Img/img_celeba images whose face box covers >= 30 % of the
# image, the whole image resized to 128 x 128 (no crop). Unsupervised training on the CelebA
# training partition without the MAFL test images (45,609 after filtering); landmark regression
# without bias fitted on MAFL training (5,379) and scored on MAFL testing (283), mean L2 error /
# inter-ocular distance measured at 128 px, in %.
# Prepare once: python tools/dataset_converters/celeba.py data/celeba  (docs/datasets.md)
dataset_type = 'CelebADataset'
data_root = 'data/celeba'
image_size = 128

train_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='ResizeParts', scale=(image_size, image_size)),
    dict(type='RandomFlipParts', prob=0.5, landmark_flip_indices=[1, 0, 2, 4, 3]),
    dict(type='PackPartInputs'),
]
test_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='ResizeParts', scale=(image_size, image_size)),
    dict(type='SetLandmarkNorm', mode='interocular', eye_indices=(0, 1)),
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
        protocol='wild',
        split='train',
        pipeline=train_pipeline))

# LandmarkRegressionMetric fits on the 'train'-tagged samples and scores the 'test'-tagged ones,
# so the test loader holds both MAFL splits.
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
                protocol='wild',
                split='mafl_train',
                regression_split='train',
                pipeline=test_pipeline),
            dict(
                type=dataset_type,
                data_root=data_root,
                protocol='wild',
                split='mafl_test',
                regression_split='test',
                pipeline=test_pipeline),
        ]))
val_dataloader = test_dataloader

# The paper's metric first; then NMI / ARI of keypoint id vs. predicted part at the visible
# landmarks (Choudhury et al. 2021; not in the DisPart / GANSeg tables), scored like the
# landmark error on the MAFL test images only (split='test').
test_evaluator = [
    dict(type='LandmarkRegressionMetric', fit='no_bias'),
    dict(type='PartNMIARIMetric', split='test'),
]
val_evaluator = test_evaluator
