# DeepFashion In-shop Clothes Retrieval benchmark, full-body views (Liu et al. 2021 Sec. 4.4):
# qualitative appearance / shape transfer only, no metric in the paper. Training on the 'train'
# partition's *_full.jpg images, resized to 128 x 128; the test loader holds the query + gallery
# full-body images for visualisation (no evaluator).
dataset_type = 'DeepFashionDataset'
data_root = 'data/deepfashion_inshop'
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

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        views=('full', ),
        pipeline=train_pipeline))

test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        views=('full', ),
        pipeline=test_pipeline))
