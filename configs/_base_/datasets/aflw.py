# AFLW, the unaligned 5-landmark face crops of Zhang et al. 2018 (Liu et al. 2021 Sec. 4.2,
# Table 2; the aflw_release-2 files read by IMM / Thewlis et al.): unsupervised training and the
# regression fit on the training faces, test on the test faces; landmark regression without bias,
# mean L2 error / inter-ocular distance at 128 px, in %. Whole crop resized to 128 x 128.
dataset_type = 'AFLWDataset'
data_root = 'data/aflw_release-2'
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
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline))

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
                regression_split='test',
                pipeline=test_pipeline),
        ]))
val_dataloader = test_dataloader

# The paper's metric first; then NMI / ARI of keypoint id vs. predicted part at the visible
# landmarks (Choudhury et al. 2021; not in the DisPart / GANSeg tables), scored like the
# landmark error on the AFLW test images only (split='test').
test_evaluator = [
    dict(type='LandmarkRegressionMetric', fit='no_bias'),
    dict(type='PartNMIARIMetric', split='test'),
]
val_evaluator = test_evaluator
