# DisPart on DeepFashion In-shop full-body images, K = 9:
# Liu et al. 2021 Sec. 4.4, Fig. 5: qualitative only.
#   python tools/train.py configs/dispart/deepfashion_k9.py
# Model: configs/_base_/models/dispart.py (Sec. 4.1, appendix A); 128 x 128 inputs and batch 32
# from the dataset base; Adam, lr 1e-4, weight decay 5e-4 from the schedule base (Sec. 4.1).
# Where the paper is silent or the official code differs, and what this config follows:
# docs/model_zoo.md, "What the DisPart configs take from where". The perceptual loss needs
# torchvision's ImageNet VGG-19 weights (appendix A.2): docs/get_started.md, "Pretrained weights".
_base_ = [
    '../_base_/models/dispart.py', '../_base_/datasets/deepfashion.py',
    '../_base_/schedules/iter_30k_adam.py', '../_base_/default_runtime.py'
]

num_parts = 9
# Loss weights: appendix Table 1, DeepFashion row, as printed (lambda_rec, lambda_cls, lambda_fg,
# lambda_bg) = (1.5, 3.0, 0.5, 0.1). The official configs of the CUB, VOC-sheep and
# DeepFashion rows hold their row's four numbers in the order (reconstruction, foreground,
# background, ArcFace) instead: docs/model_zoo.md.
model = dict(
    num_parts=num_parts,
    reconstruction_loss=dict(
        loss_weight=1.5, pretrained='https://download.pytorch.org/models/vgg19-dcbb9e9d.pth'),
    classification_loss=dict(loss_weight=3.0),
    foreground_loss=dict(loss_weight=0.5),
    background_loss=dict(loss_weight=0.1))

# No metric in the paper (Sec. 4.4, Fig. 5: qualitative appearance / shape transfer): no test or
# validation loop; the PartVisualizationHook draws part overlays.
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
default_hooks = dict(visualization=dict(interval=5000))

# 30 epochs at batch 32 (appendix A.4) of the full-body training images; their number N is not
# published: 30k iterations (the schedule base) stand in for 30 x ceil(N / 32).
# The paper states no learning-rate schedule; the official code multiplies the rate by 0.3
# every 15 epochs, i.e. once, half-way through the 30 epochs.
train_cfg = dict(max_iters=30000)
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[15000], gamma=0.3)]
