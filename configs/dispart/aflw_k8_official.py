# DisPart on AFLW (unaligned, 5 landmarks), K = 8, with the official model and losses
# (configs/_base_/models/dispart_official.py). Paper (Table 2): 13.13 % landmark error.
#   python tools/train.py configs/dispart/aflw_k8_official.py
#   python tools/test.py configs/dispart/aflw_k8_official.py \
#       work_dirs/aflw_k8_official/iter_9510.pth
# The official AFLW configs (configs/SCOPSP/SCOPSP_*AFLW_*) train feature-distance and
# orthogonality losses instead of ArcFace, which partseg does not implement; this config takes
# Table 1's AFLW row (the CelebA row's numbers) in the official order (reconstruction,
# foreground, background, ArcFace) as celeba_wild_k8_official.py does: docs/dispart.md.
_base_ = [
    '../_base_/models/dispart_official.py', '../_base_/datasets/aflw.py',
    '../_base_/schedules/iter_30k_adam.py', '../_base_/default_runtime.py'
]

num_parts = 8
model = dict(
    num_parts=num_parts,
    reconstruction_loss=dict(
        loss_weight=1.5, pretrained='https://download.pytorch.org/models/vgg19-dcbb9e9d.pth'),
    classification_loss=dict(num_classes=num_parts + 1, loss_weight=1.0),
    foreground_loss=dict(loss_weight=1.5),
    background_loss=dict(loss_weight=2 * 0.5))

# 30 epochs of the 10,122 training images at batch 32 (the official SCOPSP_AFLW config: 30
# epochs, StepLR 15 / 0.3): 9510 iterations, the step after 15 epochs.
train_cfg = dict(max_iters=9510, val_interval=1585)
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[4755], gamma=0.3)]
