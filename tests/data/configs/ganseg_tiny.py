# GANSeg stage 1 (configs/ganseg/synthetic_k4.py) shrunk for tests: 32-px images, widths / 4 of
# the synthetic config, 8 training images, batch 2, 4 iterations, a checkpoint every 2. The lazy
# penalties (gradient penalty, concentration / area losses) run every 2nd step, so a resumed run
# must continue their schedules exactly.
_base_ = ['../../../configs/ganseg/synthetic_k4.py']

model = dict(
    generator=dict(
        z_dim=16,
        emb_dim=8,
        spade_hidden=8,
        adain_hidden=8,
        mask_channels=(16, 8, 8, 8),
        fg_channels=(16, 8, 8, 8),
        bg_channels=(16, 8, 8, 8)),
    discriminator=dict(channels=(8, 8, 16, 16), fc_channels=16),
    gp_interval=2,
    con_area_interval=2)
train_dataloader = dict(batch_size=2, dataset=dict(num_samples=8))
train_cfg = dict(max_iters=4)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=-1))
custom_hooks = [dict(type='GeneratedGridHook', interval=3, num_samples=4, nrow=2)]
randomness = dict(seed=0, deterministic=True)
