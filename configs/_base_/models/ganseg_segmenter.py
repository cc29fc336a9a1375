# GANSeg stage 2 (He et al. 2022 Sec. 3): DeepLabV3 (ResNet-50, output stride 8, ASPP) trained on
# image / part-mask pairs sampled from the frozen stage-1 generator, K + 1 classes (0 background).
# The official code uses torchvision's deeplabv3_resnet50 (ImageNet backbone, no auxiliary head):
# here mmseg's EncoderDecoder with the torchvision-style ResNet-50 ('ResNet', dilations 1, 1, 2, 4,
# contract_dilation as torchvision), an ASPP head of 256 channels and the official loss
# 0.5 CE + 0.5 soft Dice. Experiment configs set decode_head.num_classes = K + 1 and the backbone
# init_cfg (ImageNet weights: dict(type='Pretrained', checkpoint='torchvision://resnet50')).
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    _scope_='mmseg',
    # generated and real images are uint8 RGB; the segmenter sees [-1, 1] like the official code
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[127.5] * 3,
        std=[127.5] * 3,
        bgr_to_rgb=False,
        size_divisor=8,  # output stride 8; a no-op for the 32 / 128 px images
        pad_val=0,
        seg_pad_val=255),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(3, ),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    # mmseg's ASPPHead fuses the branches with one 3x3 conv; 'partseg.ProjectedASPPHead' (with
    # dropout_ratio=0.0) is torchvision's / the official code's layout (1x1 projection, then 3x3).
    decode_head=dict(
        type='ASPPHead',
        in_channels=2048,
        in_index=0,
        channels=256,
        dilations=(1, 12, 24, 36),
        dropout_ratio=0.1,
        num_classes=9,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, avg_non_ignore=True, loss_weight=0.5),
            dict(type='partseg.SoftDiceLoss', loss_weight=0.5),
        ]),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
