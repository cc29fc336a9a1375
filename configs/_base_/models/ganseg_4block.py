# GANSeg stage 1 (He et al., "GANSeg: Learning to Segment by Unsupervised Hierarchical Image
# Generation", CVPR 2022): hierarchical generator (points -> masks -> foreground / background ->
# image) and residual discriminator, trained by GANSeg.train_step (one D step, then one G step).
# Architecture of the official code's 4-block models (CelebA, Taichi): feature maps 32, 32, 64,
# 128 px, channels 512 -> 256 -> 128 -> 64 -> 64, 17,793,225 G / 23,726,721 D parameters at K = 8
# (docs/ganseg.md; tools/analysis_tools/count_parameters.py).
#
# Where the paper and the official code differ, the official choice is the default here and the
# paper's is named beside it:
#   heatmap_type 'linear' (cone clamp(1 - d / tau, 0)) | 'gaussian' (Eq. 4)
#   scale_type 'mean_abs' (tau = mean |point - mean|) | 'std' (Eq. 1)
#   bg_position_mode 'horizontal' | 'xy' (Sec. 3.3; the paper uses horizontal for Taichi only)
#   MLP depths 5 / 4 / 4 | 3 / 3 / 3
#   gradient penalty (|grad D(x)| - 1)^2 every 16th D step | R1 |grad D(x)|^2 every step (Eq. 15)
#   concentration loss averaged over the K parts with lambda = C_con * K (Eq. 26, Table 4) | summed
#   area loss: minimum area pi (tau S / 2)^2 | the heatmap's area (Eq. 17)
#   concentration and area losses every 2nd G step | every step
#   grid_type 'linspace' (official grid: linspace(-1, 1, S) extended by the margin) | 'centres'
#     (pixel centres, Eq. 12; exact under 2x upsampling)
# With these choices converted official weights (tools/model_converters/ganseg_official.py)
# give the official images and masks (docs/ganseg.md, "Parity with the official code").
# K is set by the experiment configs, in one place: model.num_parts (GANSeg passes it to the
# generator).
model = dict(
    type='GANSeg',
    num_parts=8,
    # uint8 RGB -> [-1, 1], the range of the generator's tanh output
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    generator=dict(
        type='GANSegGenerator',
        n_per=4,  # points per part (appendix F.3)
        z_dim=256,
        emb_dim=64,  # D_emb
        spade_hidden=128,
        adain_hidden=128,
        feature_map_sizes=(32, 32, 64, 128),  # appendix B.4; the image is the last size
        mask_channels=(512, 64, 64, 64),  # input channels of each mask block (last -> K + 1)
        fg_channels=(512, 256, 128, 64),  # foreground blocks (last -> D_emb)
        bg_channels=(512, 256, 128, 64),  # background blocks (last -> D_emb)
        point_mlp_layers=5,
        app_mlp_layers=4,
        bg_mlp_layers=4,
        point_divisor=20.0,  # points = tanh(MLP(z) / 20)
        scale_type='mean_abs',
        heatmap_type='linear',
        bg_position_mode='horizontal',
        grid_type='linspace',
        margin=10,  # Eq. (12)
        rgb_head='conv3x3x2',
        norm_cfg=dict(type='BN', affine=False),  # 'SyncBN' for multi-GPU training
        # Activation checkpointing of the mask / foreground / background blocks (toolbox option):
        # True keeps only their inputs and recomputes their forward in the backward pass, e.g.
        # celeba_wild_k8 at batch 32 on a CPU in 8.1 GB peak RSS instead of ~23 GB, for ~21 % more
        # CPU time (docs/benchmarks.md). Same results (BN running statistics updated once).
        with_cp=False),
    discriminator=dict(
        type='GANSegDiscriminator',
        in_channels=3,
        channels=(64, 128, 256, 512, 512, 512),
        image_size=128,
        fc_channels=512),
    gan_loss=dict(type='GANLoss'),  # Eq. (13)-(14)
    gp_loss=dict(type='GradientPenaltyLoss', loss_weight=10.0, center=1.0),  # lambda_gp = 10
    con_loss=dict(
        type='GeometricConcentrationLoss', loss_weight_per_part=1.25, part_reduction='mean'),
    area_loss=dict(type='AreaLoss', loss_weight=1.0, min_area='point_spread'),  # lambda_area = 1
    gp_interval=16,
    con_area_interval=2,
    ema_momentum=None)

# Appendix B.4: Adam, lr G 1e-4, D 4e-4, betas (0.5, 0.9); 30,000 generator updates.
optim_wrapper = dict(
    constructor='MultipleOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.5, 0.9))),
    discriminator=dict(optimizer=dict(type='Adam', lr=4e-4, betas=(0.5, 0.9))))
param_scheduler = []
# Multi-GPU (tools/dist_train.sh): generator and discriminator each in their own DDP wrapper, as
# GANSeg.train_step alternates their updates.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', broadcast_buffers=False, find_unused_parameters=False)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=30000)

# Samples with their points and masks:
#   <work_dir>/<timestamp>/vis_data/vis_image/generated_grid_<iter>.png
custom_hooks = [dict(type='GeneratedGridHook', interval=1000, num_samples=16, nrow=4)]
