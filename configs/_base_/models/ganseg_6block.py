# GANSeg stage 1 with the official code's 6-block architecture (CUB, Flowers; He et al. 2022):
# feature maps 32, 32, 64, 64, 128, 128 px, channels 512 -> 256 -> 256 -> 128 -> 128 -> 64 -> 64,
# 23,221,833 G / 23,726,721 D parameters at K = 8. Everything else as ganseg_4block.py, including
# the generator's activation checkpointing option (model.generator.with_cp, default False).
_base_ = ['./ganseg_4block.py']

model = dict(
    generator=dict(
        feature_map_sizes=(32, 32, 64, 64, 128, 128),
        mask_channels=(512, 64, 64, 64, 64, 64),
        fg_channels=(512, 256, 256, 128, 128, 64),
        bg_channels=(512, 256, 256, 128, 128, 64)))
