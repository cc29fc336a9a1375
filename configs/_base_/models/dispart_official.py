# DisPart as the official code computes it (github SlongLiu/UnsupKeypointsParts, model SCOPSP of
# network/scopsplus.py with the configs/SCOPSP/*_ARC_* loss modules): the network
# SCOPSP(dim=K+1, h_channel=32, downsamplelast=True) and its losses, weight for weight and term
# for term (measured parity: docs/dispart.md). tools/model_converters/dispart_official.py turns
# an official ep<N>.pkl into a checkpoint of this model. The experiment configs
# (configs/dispart/*_official.py) set K and the official config's four loss weights.
# Differences from the paper's model (configs/_base_/models/dispart.py) are marked "official".
model = dict(
    type='DisPart',
    num_parts=8,  # K; the official `dim` (lm_numb) is K + 1
    # official: images in [0, 1] (Normalize(mean 0, std 1) after ToTensor), the generator
    # reconstructs in that space; TPS settings of randTPStransform2 (TPSRandomSampler defaults).
    data_preprocessor=dict(
        type='TPSPairPreprocessor',
        mean=[0.0, 0.0, 0.0],
        std=[255.0, 255.0, 255.0],
        grid_size=10,
        point_std=0.001,
        extra_point_std=0.005,
        extra_point_prob=0.5,
        translation_std=0.1,
        rotation_std=0.0,
        scale_std=0.0),
    # official: resnet18 / resnet34 without the stem max pool, layer3 stride 2
    # (downsamplelast=True): 16 x 16 maps at 128 px; torchvision's Kaiming init (init_std None).
    shape_encoder=dict(
        type='TruncatedResNet',
        depth=18,
        strides=(1, 2, 2),
        stem_pool=False,
        base_channels=64,
        init_std=None),
    appearance_encoder=dict(
        type='TruncatedResNet',
        depth=34,
        strides=(1, 2, 2),
        stem_pool=False,
        base_channels=64,
        init_std=None),
    # feats = sum(S A) / sum(S) (use_norm=True)
    bottleneck=dict(type='AppearanceTransferBottleneck'),
    # official: torch.linspace(0, 1, W) coordinates, x then y
    coordinate_channels=dict(type='CoordinateChannels', align_corners=True),
    # official MyGenerator(h_channel=32, downsamplelast=True): upsampling in blocks 2, 4 and 6;
    # PyTorch's default init (init_std None)
    decoder=dict(
        type='DisPartDecoder',
        in_channels=256 + 2,
        channels=(256, 256, 128, 128, 64, 64, 32),
        out_channels=3,
        upsample_blocks=(1, 3, 5),
        init_std=None),
    # official PerceptualNewLoss: the normalised input and relu1_2 ... relu5_2 of VGG-19, squared
    # errors masked by the TPS masks and averaged over all elements, layer weights starting at
    # 1 / (0.25, 0.26, 1.4, 3.19, 2.54, 0.3) and refreshed to 1 / (mean layer loss) every 99
    # loss calls (`(cnt + 1) % 100 == 0`, two calls per step, one per view), the weighted sum /
    # 6 multiplied by the unweighted sum of the six layer losses.
    reconstruction_loss=dict(
        type='PerceptualLoss',
        loss_weight=1.0,
        layers=('input', 'conv1_2', 'conv2_2', 'conv3_2', 'conv4_2', 'conv5_2'),
        pretrained=None,
        layer_weighting='running_mean',
        layer_weights=[1 / 0.25, 1 / 0.26, 1 / 1.4, 1 / 3.19, 1 / 2.54, 1 / 0.3],
        weight_update_interval=99,
        mask_reduction='mean',
        multiply_by_distance_sum=True),
    # official ArcFaceLoss(skip_bg=True): K + 1 classes (the background's too), rows 1..K
    # classified, sum of their cross-entropies / (K + 1); s = 30, m = 0.5, easy_margin=False.
    classification_loss=dict(
        type='ArcFaceLoss',
        num_classes=8 + 1,
        in_channels=256,
        s=30.0,
        m=0.5,
        target_fallback=True,
        skip_background_row=True,
        loss_weight=1.0),
    # official ConcentrationLoss(bg=True): summed over the K parts, linspace coordinates
    foreground_loss=dict(
        type='ForegroundConcentrationLoss',
        loss_weight=1.0,
        normalizer='clamp',
        part_reduction='sum',
        align_corners=True),
    # official ConcentBGLoss: h = min distance to a border moved 0.01 outwards, 2 h^2; the
    # factor 2 is in the experiment configs' loss_weight (2 x the official weight)
    background_loss=dict(
        type='BackgroundConcentrationLoss',
        loss_weight=2.0,
        normalizer='clamp',
        border_margin=0.01,
        align_corners=True),
    masked_reconstruction=True,  # official: the perceptual loss takes the TPS masks
    classify_background=True,  # the background row goes to the ArcFace loss (skipped there)
    view_batching='separate',  # official: BN statistics of each view's batch
    per_view_losses=True,  # official: every loss on each view, summed
    init_std=None)  # official: each layer's own init (ArcFace basis: Xavier uniform)
