# The quickstart config shrunk for tests: 32-px images, 8 training images, batch 2, 4 iterations.
_base_ = ['../../../configs/dispart/synthetic_k4.py']

image_size = 32
_pipeline = [
    dict(type='LoadPartImage'),
    dict(type='ResizeParts', scale=(32, 32)),
    dict(type='PackPartInputs'),
]
model = dict(
    shape_encoder=dict(base_channels=4),
    appearance_encoder=dict(base_channels=4),
    decoder=dict(in_channels=16 + 2, channels=(8, 8, 8, 8, 8, 8, 8)),
    classification_loss=dict(in_channels=16))
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(num_samples=8, image_size=32, pipeline=_pipeline))
_test_dataloader = dict(
    batch_size=4,
    num_workers=0,
    dataset=dict(datasets=[
        dict(
            type='SyntheticPartsDataset',
            num_samples=8,
            num_parts=4,
            image_size=32,
            split='val',
            regression_split='train',
            pipeline=_pipeline),
        dict(
            type='SyntheticPartsDataset',
            num_samples=8,
            num_parts=4,
            image_size=32,
            split='test',
            regression_split='test',
            pipeline=_pipeline),
    ]))
test_dataloader = _test_dataloader
val_dataloader = _test_dataloader
train_cfg = dict(max_iters=4)
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=2), visualization=dict(interval=0))
randomness = dict(seed=0, deterministic=True)
