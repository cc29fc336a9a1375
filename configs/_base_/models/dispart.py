# DisPart (Liu et al., "Unsupervised Part Segmentation through Disentangling Appearance and
# Shape", CVPR 2021) with the paper's settings: Sec. 4.1, appendix A and Table 1 (CelebA row).
# Experiments set K through `model.num_parts` alone: DisPart gives the classification loss its
# num_classes (K, or K + 1 with classify_background=True) and in_channels (L, the appearance
# encoder's width). No top-level variables here, so this file can be combined with any dataset
# base (MMEngine refuses keys defined by two bases).

# Part-map resolution. The paper: layer3 stride 1, 32x32 maps from 128-px images (output stride
# 4: stem conv stride 2 without max pool, then strides (1, 2, 1)); the decoder upsamples in its
# 2nd and 4th blocks. The official code's shipped configs ('downsamplelast') use 16x16 maps; to
# get them override all three fields together:
#   model = dict(shape_encoder=dict(strides=(1, 2, 2)),
#                appearance_encoder=dict(strides=(1, 2, 2)),
#                decoder=dict(upsample_blocks=(1, 3, 5)))
model = dict(
    type='DisPart',
    num_parts=8,  # K (Table 1: CelebA 4 or 8)
    # Two TPS views of every training image, made on the device (appendix A.1). Images are
    # normalised to [-1, 1]; the decoder reconstructs in that space and the reconstruction loss
    # sees both sides mapped back to [0, 1].
    data_preprocessor=dict(
        type='TPSPairPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        grid_size=10,  # 10 x 10 control points on a regular grid in [-1, 1]^2
        point_std=0.001,  # std of every TPS control-point coefficient
        extra_point_std=0.005,  # extra perturbation of a coefficient ...
        extra_point_prob=0.5,  # ... applied with this probability
        translation_std=0.1,  # affine translation (normalised coordinates)
        rotation_std=0.0,  # affine rotation, degrees
        scale_std=0.0),  # affine scale around 1
    # E_s: ResNet-18 up to layer3, plus the model's 1x1 conv to K + 1 part logits.
    shape_encoder=dict(
        type='TruncatedResNet',
        depth=18,
        strides=(1, 2, 1),  # strides of layer1..3; layer3 stride 1 as the paper says
        stem_pool=False,  # no max pool after the stem (official code), so 32x32 at 128 px
        base_channels=64),
    # E_a: ResNet-34 up to layer3, L = 256 channels.
    appearance_encoder=dict(
        type='TruncatedResNet', depth=34, strides=(1, 2, 1), stem_pool=False, base_channels=64),
    bottleneck=dict(type='AppearanceTransferBottleneck'),
    # The 2 pixel-coordinate channels appended to the rendered appearance (appendix A.3);
    # align_corners=True gives the official code's j / (W - 1) instead of pixel centres.
    coordinate_channels=dict(type='CoordinateChannels', align_corners=False),
    decoder=dict(
        type='DisPartDecoder',
        in_channels=256 + 2,  # L + 2 coordinate channels; L = 4 * base_channels of E_a
        channels=(256, 256, 128, 128, 64, 64, 32),  # official widths (h_channel = 32)
        out_channels=3,
        upsample_blocks=(1, 3)),  # zero-based: the 2nd and 4th blocks are 4x4 transposed convs
    # lambda_rec = 1.5. Set `pretrained` to a torchvision VGG-19 state_dict (path or URL; the
    # experiment configs give torchvision's URL), read when training starts (init_weights), a URL
    # from torch's hub cache first: docs/get_started.md, "Pretrained weights". With None the VGG
    # is random (tests, smoke runs).
    reconstruction_loss=dict(
        type='PerceptualLoss',
        loss_weight=1.5,
        layers=('input', 'conv1_2', 'conv2_2', 'conv3_2', 'conv4_2', 'conv5_2'),
        pretrained=None,
        weight_update_interval=100,  # layer weights = 1 / mean layer loss every 100 steps
        feature_chunks=2),  # the VGG runs on one view's B images at a time (same loss; faster)
    # lambda_cls = 1.5; s = 20, m = 0.5 (Sec. 4.1; the official code uses s = 30). num_classes
    # (K) and in_channels (L) follow model.num_parts and the appearance encoder.
    classification_loss=dict(type='ArcFaceLoss', s=20.0, m=0.5, loss_weight=1.5),
    foreground_loss=dict(type='ForegroundConcentrationLoss', loss_weight=0.5),  # lambda_fg
    background_loss=dict(type='BackgroundConcentrationLoss', loss_weight=1.0),  # lambda_bg
    # True: the reconstruction loss ignores pixels the TPS warp took from outside the image
    # (official code); the paper does not mask.
    masked_reconstruction=False,
    # True: the background feature row goes to ArcFace too (K + 1 classes, derived from
    # num_parts); the paper excludes it. The official code's form: dispart_official.py.
    classify_background=False,
    # 'separate': each view passes the encoders and the decoder as its own batch of B, so BN
    # normalises each view over its own images, as the official code does (the paper does not
    # say); faster on CPUs than 'joint' (one batch of 2B): docs/benchmarks.md.
    view_batching='separate',
    init_std=0.01)  # Gaussian init of all conv weights (Sec. 4.1)
