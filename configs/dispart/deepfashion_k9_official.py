# DisPart on DeepFashion In-shop full-body images, K = 9, with the official model and the
# official DeepFashion config's losses and schedule:
# configs/SCOPSP/SCOPSP_DeepFashion_BG_Norm_128x128_TPS_PERCEPNEW_ARC_10lm_hm32_newtc.py with
# SCOPSP (model: configs/_base_/models/dispart_official.py). Qualitative (paper Fig. 5).
#   python tools/train.py configs/dispart/deepfashion_k9_official.py
# K: Table 1 gives 9 parts for DeepFashion; the official config sets dim = 20 (K = 19), one
# override away:
#   --cfg-options model.num_parts=19 model.classification_loss.num_classes=20
# The official images are squeezed to 108 x 350, centre-cropped to 108 x 108 and padded with 10
# white pixels; here they are resized to 128 x 128 (the dataset base).
_base_ = [
    '../_base_/models/dispart_official.py', '../_base_/datasets/deepfashion.py',
    '../_base_/schedules/iter_30k_adam.py', '../_base_/default_runtime.py'
]

num_parts = 9
# Official weights (perceptual, foreground, background, ArcFace) = (1.5, 3.0, 0.5, 0.1); the
# background loss_weight is twice the official weight (the official loss doubles h^2).
model = dict(
    num_parts=num_parts,
    reconstruction_loss=dict(
        loss_weight=1.5, pretrained='https://download.pytorch.org/models/vgg19-dcbb9e9d.pth'),
    classification_loss=dict(num_classes=num_parts + 1, loss_weight=0.1),
    foreground_loss=dict(loss_weight=3.0),
    background_loss=dict(loss_weight=2 * 0.5))

# Official data: all full-body images (split 'all'), no flip, batch 24.
train_dataloader = dict(
    batch_size=24,
    dataset=dict(
        split='all',
        pipeline=[
            dict(type='LoadPartImage'),
            dict(type='ResizeParts', scale=(128, 128)),
            dict(type='PackPartInputs'),
        ]))

val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
default_hooks = dict(visualization=dict(interval=5000))

# Official schedule: 30 epochs of the images repeated 4 times (dup = 4), StepLR(15 epochs, 0.3).
# The number of full-body images is not published with the config: 30k iterations stand in (as
# in deepfashion_k9.py); with N known, 30 x ceil(4 N / 24) and the step at half.
train_cfg = dict(max_iters=30000)
param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[15000], gamma=0.3)]
