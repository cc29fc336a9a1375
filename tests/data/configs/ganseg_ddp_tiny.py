# GANSeg stage 1 shrunk for the 2-process CPU test (tests/test_tools/test_ddp_cpu.py): 16-px
# images, a 2-block generator and discriminator of width 8, batch 2 per process, 3 iterations with
# the gradient penalty on D steps 0 and 2 and the concentration / area losses on G steps 0 and 2.
_base_ = ['../../../configs/ganseg/synthetic_k4.py']

image_size = 16
num_parts = 2
model = dict(
    num_parts=num_parts,
    generator=dict(
        z_dim=8,
        emb_dim=8,
        spade_hidden=8,
        adain_hidden=8,
        feature_map_sizes=(8, 16),
        mask_channels=(16, 8),
        fg_channels=(16, 8),
        bg_channels=(16, 8),
        margin=4,
        point_mlp_layers=2,
        app_mlp_layers=2,
        bg_mlp_layers=2),
    discriminator=dict(channels=(8, 8), image_size=image_size, fc_channels=8),
    gp_interval=2)

# Generator and discriminator each in their own DistributedDataParallel (GANSeg.train_step
# alternates them); every process draws its own noise (diff_rank_seed), as the per-GPU slices of
# the official code's DataParallel batch do.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel', broadcast_buffers=False, find_unused_parameters=False)
randomness = dict(seed=0, diff_rank_seed=True, deterministic=True)
env_cfg = dict(dist_cfg=dict(backend='gloo'))

train_cfg = dict(max_iters=3)
train_dataloader = dict(
    batch_size=2,
    dataset=dict(num_samples=8, num_parts=num_parts, image_size=image_size, cache=False))
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=3, max_keep_ckpts=1),
    visualization=dict(interval=0))
custom_hooks = []
