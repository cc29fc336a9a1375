# GANSeg stage 2 on Tai-Chi-HD, K = 10, foreground IoU (He et al. 2022 Table 3: 0.8538): the model
# of taichi_k10_stage2.py tested on the 300 test images with their masks.
#   python tools/test.py configs/ganseg/taichi_k10_stage2_iou.py \
#       work_dirs/taichi_k10_stage2/iter_10000.pth
_base_ = ['./taichi_k10_stage2.py']

test_dataloader = {{_base_.taichi_iou_dataloader}}
# the official test_seg.py IoU: I / (U + 1e-6) per image (an image with an empty union scores 0)
test_evaluator = [dict(type='ForegroundIoUMetric', smooth=1e-6)]
