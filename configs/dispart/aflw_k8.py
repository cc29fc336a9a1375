# DisPart on unaligned AFLW (5 landmarks), K = 8:
# Liu et al. 2021 Table 2: 13.13 % landmark error / inter-ocular distance.
#   python tools/train.py configs/dispart/aflw_k8.py
#   python tools/test.py configs/dispart/aflw_k8.py \
#       work_dirs/aflw_k8/iter_9510.pth
# Model: configs/_base_/models/dispart.py (Sec. 4.1, appendix A); 128 x 128 inputs and batch 32
# from the dataset base; Adam, lr 1e-4, weight decay 5e-4 from the schedule base (Sec. 4.1).
# Where the paper is silent or the official code differs, and what this config follows:
# docs/model_zoo.md, "What the DisPart configs take from where". The perceptual loss needs
# torchvision's ImageNet VGG-19 weights (appendix A.2): docs/get_started.md, "Pretrained weights".
_base_ = [
    '../_base_/models/dispart.py', '../_base_/datasets/aflw.py',
    '../_base_/schedules/iter_30k_adam.py', '../_base_/default_runtime.py'
]

num_parts = 8
# Loss weights: appendix Table 1, AFLW row, as printed (lambda_rec, lambda_cls, lambda_fg,
# lambda_bg) = (1.5, 1.5, 0.5, 1.0). The official configs of the CUB, VOC-sheep and
# DeepFashion rows hold their row's four numbers in the order (reconstruction, foreground,
# background, ArcFace) instead: docs/model_zoo.md.
model = dict(
    num_parts=num_parts,
    reconstruction_loss=dict(
        loss_weight=1.5, pretrained='https://download.pytorch.org/models/vgg19-dcbb9e9d.pth'),
    classification_loss=dict(loss_weight=1.5),
    foreground_loss=dict(loss_weight=0.5),
    background_loss=dict(loss_weight=1.0))

# 30 epochs at batch 32 (appendix A.4) of the 10,122 training faces: 30 x ceil(10,122 / 32) =
# 9510 iterations; validation every 5 epochs.
# The paper states no learning-rate schedule; the official code multiplies the rate by 0.3
# every 15 epochs, i.e. once, half-way through the 30 epochs.
train_cfg = dict(max_iters=9510, val_interval=1585)
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[4755], gamma=0.3)]
