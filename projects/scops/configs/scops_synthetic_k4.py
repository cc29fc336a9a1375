# SCOPS (Hung et al. 2019) as a partseg plugin, on partseg's embedded synthetic dataset (K = 4),
# sized to train and evaluate on a CPU in minutes:
#
#   python tools/train.py projects/scops/configs/scops_synthetic_k4.py
#
# The plugin's modules live in projects/scops/scops/ and are registered only by this import;
# nothing in partseg/ knows about them.
custom_imports = dict(imports=['projects.scops.scops'], allow_failed_imports=False)

_base_ = [
    './_base_/models/scops.py',
    '../../../configs/_base_/datasets/synthetic_parts.py',
    '../../../configs/_base_/schedules/iter_30k_adam.py',
    '../../../configs/_base_/default_runtime.py',
]

num_parts = 4

# Differences from the paper settings of ./_base_/models/scops.py, and why:
# - The paper's features V are an ImageNet VGG-19's relu5_2, whose weights cannot be downloaded
#   on the machines this must run on. Here V comes from a frozen, randomly initialised narrow
#   ResNet (FrozenBackboneFeatures: the same TruncatedResNet architecture as the segmentation
#   backbone, drawn at init from the run's seed and never trained; init_std 0.1 keeps its
#   activations from vanishing), L2-normalised per pixel (normalize_features) so its arbitrary
#   scale does not matter. To use the paper's features instead:
#     feature_extractor=dict(_delete_=True, type='VGG19Features', layers='relu5_2',
#                            pretrained='https://download.pytorch.org/models/vgg19-dcbb9e9d.pth')
#   (read when training starts, from torch's hub cache when it is there, or a local path)
# - 64 px images and a backbone 8x narrower (base_channels 8): CPU budget.
# - No saliency map (the paper's features are masked by an unsupervised saliency map; none is
#   available here): this is "SCOPS w/o saliency". scops_synthetic_k4_gt_bg.py uses the GT
#   foreground instead.
# - Loss weights retuned for the normalised features and the 16 x 16 part maps: lambda_sc = 100
#   makes the reconstruction of V the main term, as lambda_sc = 1e4 does in the official code.
# - Adam lr 1e-3 for 600 iterations at batch 16 instead of SGD lr 1e-5 for 100k iterations.
model = dict(
    num_parts=num_parts,
    backbone=dict(base_channels=8),
    feature_extractor=dict(
        _delete_=True,
        type='FrozenBackboneFeatures',
        backbone=dict(
            type='TruncatedResNet',
            depth=18,
            strides=(1, 2, 1),
            stem_pool=False,
            base_channels=8,
            init_std=0.1)),
    normalize_features=True,
    concentration_loss=dict(loss_weight=1.0),
    equivariance_loss=dict(map_weight=1.0, centroid_weight=1.0),
    semantic_consistency_loss=dict(loss_weight=100.0),
    orthonormality_loss=dict(loss_weight=0.1),
    equivariance_tps=dict(rotation_std=20.0, scale_std=0.1, translation_std=0.06))

train_dataloader = dict(batch_size=16, num_workers=1)

optim_wrapper = dict(optimizer=dict(lr=1e-3), clip_grad=dict(max_norm=5.0))  # official clip 5
train_cfg = dict(max_iters=600, val_interval=100000)  # evaluated once at the end
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=400, max_keep_ckpts=2),
    visualization=dict(interval=400))
