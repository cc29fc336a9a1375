# SCOPS (Hung et al., "SCOPS: Self-Supervised Co-Part Segmentation", CVPR 2019) with the settings
# of the official code's CelebA K = 8 experiment (exps/SCOPS_K8_retrain.json), converted to this
# plugin's loss reductions. The experiment sets K through `model.num_parts`; no top-level variables
# here, so this file combines with any dataset base.
#
# Differences from the paper that no config can undo (see projects/scops/README.md):
# - backbone: partseg's TruncatedResNet trained from scratch, not an ImageNet DeepLab-V2 ResNet-50;
# - no saliency masking of the features (the "SCOPS w/o saliency" rows of DisPart's and GANSeg's
#   tables); no colour jitter of the warped image.
model = dict(
    type='SCOPS',
    num_parts=8,  # K
    data_preprocessor=dict(type='ImgDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    # ResNet-18 up to layer3 (output stride 4: no stem max pool, strides (1, 2, 1)) + a 1x1 conv
    # to K + 1 part logits.
    backbone=dict(
        type='TruncatedResNet', depth=18, strides=(1, 2, 1), stem_pool=False, base_channels=64),
    # V of Eq. (4)-(5): ImageNet VGG-19 relu5_2 (D = 512), frozen: partseg's shared VGG19Features.
    # torchvision's ImageNet weights, read when training starts (init_weights), from torch's hub
    # cache when they are there (docs/get_started.md, "Pretrained weights"); a local copy:
    #   --cfg-options model.feature_extractor.pretrained=/path/to/vgg19-dcbb9e9d.pth
    feature_extractor=dict(
        type='VGG19Features',
        layers='relu5_2',
        pretrained='https://download.pytorch.org/models/vgg19-dcbb9e9d.pth'),
    # Official --ref-norm: False in the K = 8 experiment (features used as they are).
    normalize_features=False,
    # Eq. (1). Official lambda_con = 10, but its loss divides the batch sum by B twice (B = 6):
    # 10 / 6 per image here.
    concentration_loss=dict(type='SCOPSConcentrationLoss', loss_weight=1.67),
    # Eq. (2)-(3). Official lambda_eqv = 1e3 on a KL averaged over the K + 1 channels too
    # (1e3 / 9 here) and lambda_lmeqv = 1e2 on a centroid MSE averaged over K parts and 2 axes
    # (1e2 / 16 here).
    equivariance_loss=dict(type='SCOPSEquivarianceLoss', map_weight=111.0, centroid_weight=6.25),
    # Eq. (4)-(5): lambda_sc = 1e4 (same reduction as the official MSE).
    semantic_consistency_loss=dict(type='SemanticConsistencyLoss', loss_weight=1e4),
    # Eq. (6): lambda_on = 0.1 (official sum of squares over the K x K Gram matrix).
    orthonormality_loss=dict(type='OrthonormalityLoss', loss_weight=0.1, normalize_rows=True),
    # T_s: partseg's random TPS (DisPart's sampler) on a 5 x 5 control grid (SCOPS: 25 points)
    # with a random similarity: rotation std 35 deg and scale std 0.27 match in std the official
    # uniform draws (rotation in [-60, 60] deg, scale in [0.5, 1.43]), translation std 0.06 the
    # uniform [-0.1, 0.1].
    equivariance_tps=dict(
        type='RandomTPS',
        grid_size=5,
        point_std=0.001,
        extra_point_std=0.0,
        extra_point_prob=0.0,
        translation_std=0.06,
        rotation_std=35.0,
        scale_std=0.27))
