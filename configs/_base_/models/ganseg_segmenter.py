# GANSeg stage 2 (He et al. 2022 Sec. 3): DeepLabV3 (ResNet-50, output stride 8, ASPP) trained on
# image / part-mask pairs sampled from the frozen stage-1 generator, K + 1 classes (0 background).
# The official code uses torchvision's deeplabv3_resnet50 (ImageNet backbone, no auxiliary head);
# this is the same network as an mmseg EncoderDecoder: the ResNet-50 with torchvision's stem, names
# and strides (replace_stride_with_dilation (False, True, True) = dilations 1, 1, 2, 4 with
# contract_dilation), and torchvision's DeepLabHead (partseg.ProjectedASPPHead: ASPP rates 12, 24,
# 36 plus 1x1 and image pooling, 1x1 projection + dropout 0.5, 3x3 conv, classifier; no dropout
# before the classifier), loss 0.5 CE + 0.5 soft Dice (the official cal_loss). Converted official
# segmenters (tools/model_converters/ganseg_official.py) give torchvision's logits.
# mmseg's own ASPPHead (one 3x3 conv over the concatenated branches, dropout 0.1 before the
# classifier) is one override away:
#   model = dict(decode_head=dict(type='ASPPHead', dropout_ratio=0.1))
# Experiment configs set decode_head.num_classes = K + 1 and the backbone init_cfg (ImageNet
# weights: dict(type='Pretrained', checkpoint='torchvision://resnet50')).
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
    # torchvision's DeepLabHead; project_dropout (0.5) is ProjectedASPPHead's default
    decode_head=dict(
        type='partseg.ProjectedASPPHead',
        in_channels=2048,
        in_index=0,
        channels=256,
        dilations=(1, 12, 24, 36),
        dropout_ratio=0.0,
        num_classes=9,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, avg_non_ignore=True, loss_weight=0.5),
            dict(type='partseg.SoftDiceLoss', loss_weight=0.5),
        ]),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
