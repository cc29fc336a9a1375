# CelebA aligned (Img/img_align_celeba, 178 x 218) with the MAFL splits (He et al. 2022 Sec. 4.1,
# following Thewlis et al.): unsupervised training on the CelebA training partition without the
# MAFL test images (~160k), landmark regression without bias fitted on MAFL training (19,000) and
# scored on MAFL testing (1,000), error / inter-ocular distance at 128 px, in %. The whole image
# is resized to 128 x 128.
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
        protocol='aligned',
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
                protocol='aligned',
                split='mafl_train',
                regression_split='train',
                pipeline=test_pipeline),
            dict(
                type=dataset_type,
                data_root=data_root,
                protocol='aligned',
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
