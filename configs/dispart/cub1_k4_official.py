# DisPart on CUB-1, K = 4 (official dim = 5), as the official code trains it:
# configs/SCOPSP/SCOPSP_CUB_BG_Norm_128x128_TPS_PERCEPNEW_ARC_10lm_hm32_newtc.py with
# network/scopsplus.py's SCOPSP (model: configs/_base_/models/dispart_official.py).
# Paper (Table 4): 18.15 % landmark error, x / y normalised by box w / h.
#   python tools/train.py configs/dispart/cub1_k4_official.py
#   python tools/test.py configs/dispart/cub1_k4_official.py \
#       work_dirs/cub1_k4_official/iter_11092.pth
_base_ = [
    '../_base_/models/dispart_official.py', '../_base_/datasets/cub_dispart.py',
    '../_base_/schedules/iter_30k_adam.py', '../_base_/default_runtime.py'
]

num_parts = 4
# Official weights (perceptual, foreground, background, ArcFace) = (1.5, 1.5, 0.3, 1); the
# background loss_weight is twice the official weight (the official loss doubles h^2).
model = dict(
    num_parts=num_parts,
    reconstruction_loss=dict(
        loss_weight=1.5, pretrained='https://download.pytorch.org/models/vgg19-dcbb9e9d.pth'),
    classification_loss=dict(num_classes=num_parts + 1, loss_weight=1.0),
    foreground_loss=dict(loss_weight=1.5),
    background_loss=dict(loss_weight=2 * 0.3))

# The official config trains on all images of the class (split 'all', train and test halves)
train_dataloader = dict(dataset=dict(split='all'))

# Official schedule: batch 32, the class's 60 images repeated 100 times per epoch (dup = 100):
# ceil(6,000 / 32) = 188 iterations per epoch, StepLR(15 epochs, 0.3), 60 epochs. Its 60th
# epoch (freeze_epoch = 60) trains only the appearance encoder and the decoder on the
# perceptual loss, which leaves the scored part maps as they are after 59 epochs:
# 59 x 188 = 11092 iterations.
train_cfg = dict(max_iters=11092, val_interval=376)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[2820, 5640, 8460], gamma=0.3)
]
