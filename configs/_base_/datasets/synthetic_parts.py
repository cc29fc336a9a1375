# The embedded synthetic dataset: procedural K-part creatures on cluttered backgrounds, rendered on
# the fly (no download). GT part masks, foreground and landmarks are used for evaluation only.
dataset_type = 'SyntheticPartsDataset'
num_parts = 4
image_size = 64

train_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='ResizeParts', scale=(image_size, image_size)),
    dict(type='PackPartInputs'),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        num_samples=4000,
        num_parts=num_parts,
        image_size=image_size,
        split='train',
        pipeline=train_pipeline))

# Landmark regression is fitted on the 'train'-tagged images and scored on the 'test'-tagged ones;
# both come from splits never seen in training.
test_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(
                type=dataset_type,
                num_samples=300,
                num_parts=num_parts,
                image_size=image_size,
                split='val',
                regression_split='train',
                pipeline=test_pipeline),
            dict(
                type=dataset_type,
                num_samples=300,
                num_parts=num_parts,
                image_size=image_size,
                split='test',
                regression_split='test',
                pipeline=test_pipeline),
        ]))
val_dataloader = test_dataloader

test_evaluator = [
    dict(type='LandmarkRegressionMetric', fit='no_bias'),
    dict(type='ForegroundIoUMetric'),
    dict(type='PartNMIARIMetric'),
]
val_evaluator = test_evaluator
