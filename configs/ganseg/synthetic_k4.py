# GANSeg stage 1 on the embedded synthetic dataset (K = 4), sized to train on a CPU in minutes:
#   python tools/train.py configs/ganseg/synthetic_k4.py
#   python tools/train.py configs/ganseg/synthetic_k4_stage2.py      (segmenter, then its test)
#   python tools/test.py configs/ganseg/synthetic_k4_stage2.py \
#       work_dirs/synthetic_k4_stage2/iter_1000.pth
#
# The 4-block architecture of ganseg_4block.py with every size shrunk (the official model runs at
# ~60 s per iteration on two CPU cores, docs/ganseg.md):
# - 32 px images; feature maps 8, 8, 16, 32 (official 32, 32, 64, 128), margin 8 px (the smallest
#   that keeps the masks exactly translation-equivariant at these sizes; official 10);
# - widths / 8: channels 64 -> 32 -> 16 -> 16 -> 16, D_emb 16, SPADE / AdaIN hidden 16, z 64;
#   discriminator 4 blocks 16 -> 32 -> 64 -> 64, FC 256 -> 64 -> 1;
# - batch 16, 1,000 iterations, learning rates x 2 (G 2e-4, D 8e-4); everything else as the
#   official models (C_con 1.25 -> lambda_con 5 at K = 4, gradient penalty every 16th D step, ...).
# On a busy CPU run with OMP_NUM_THREADS=1 (docs/ganseg.md: 1.5 s instead of 18 s per iteration).
_base_ = [
    '../_base_/models/ganseg_4block.py', '../_base_/datasets/synthetic_parts.py',
    '../_base_/default_runtime.py'
]

num_parts = 4
image_size = 32

model = dict(
    num_parts=num_parts,
    generator=dict(
        z_dim=64,
        emb_dim=16,
        spade_hidden=16,
        adain_hidden=16,
        feature_map_sizes=(8, 8, 16, 32),
        mask_channels=(64, 16, 16, 16),
        fg_channels=(64, 32, 16, 16),
        bg_channels=(64, 32, 16, 16),
        margin=8,
        # pixel-centre grid: the masks move exactly with whole-pixel moves of the points at
        # these small sizes (the official linspace grid shifts by a fraction of a pixel per
        # upsampling)
        grid_type='centres',
        # tanh(MLP(z) / 5) instead of the official / 20: with 8-32 px maps the official part
        # scales start sub-pixel (empty heatmaps, one part takes the object); 5 is a value the
        # official code's comments list as working. Measured: NMI / ARI (fg only) 43.7 / 26.0
        # against 7.6 / -1.8 with 20 (docs/ganseg.md).
        point_divisor=5.0),
    discriminator=dict(channels=(16, 32, 64, 64), image_size=image_size, fc_channels=64))

optim_wrapper = dict(
    generator=dict(optimizer=dict(lr=2e-4)), discriminator=dict(optimizer=dict(lr=8e-4)))
train_cfg = dict(max_iters=1000)

# Rendered once and cached (cache=True), no worker processes: the two CPU cores train.
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        image_size=image_size,
        cache=True,
        pipeline=[dict(type='LoadPartImage'),
                  dict(type='PackPartInputs')]))

val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=500, max_keep_ckpts=2))
custom_hooks = [dict(type='GeneratedGridHook', interval=250, num_samples=16, nrow=4)]
