# The GANSeg stage-2 segmenter (configs/ganseg/synthetic_k4_stage2.py: mmseg EncoderDecoder,
# DeepLabV3 = dilated ResNet + ASPP) shrunk for inference / export tests: ResNet-18 with 8 base
# channels, a 16-channel ASPP, 32-px test images. Its training data (pairs sampled from a stage-1
# checkpoint) is not used by these tests.
_base_ = ['../../../configs/ganseg/synthetic_k4_stage2.py']

model = dict(
    backbone=dict(depth=18, stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=64, channels=16, dilations=(1, 2, 3, 4)))

# The base's two test datasets (split 'val' to fit the landmark regression, 'test' to score it),
# 4 images each and without the resize: the synthetic images are 32 px already.
_pipeline = [dict(type='LoadPartImage'), dict(type='PackPartInputs')]
test_dataloader = dict(
    batch_size=2,
    dataset=dict(datasets=[
        dict(dataset, num_samples=4, pipeline=_pipeline)
        for dataset in _base_.test_dataloader.dataset.datasets
    ]))
