# DisPart on CUB-2 (class 2 of CUB-200-2011, bounding-box crops), K = 4:
# Liu et al. 2021 Table 4: 17.54 % landmark error, x / y normalised by box w / h.
#   python tools/train.py configs/dispart/cub2_k4.py
#   python tools/test.py configs/dispart/cub2_k4.py \
#       work_dirs/cub2_k4/iter_2820.pth
# Everything but the class as cub1_k4.py: model, the CUB-1/2/3 row of appendix Table 1 for the
# loss weights, 128 x 128 inputs, batch 32, Adam, and 2,820 iterations with the x0.3 step at
# 1,410 (class 2 also has ~30 training images in CUB's official split).
_base_ = './cub1_k4.py'

# CUB-2: the images of class 2 (the base config holds class 1).
train_dataloader = dict(dataset=dict(categories=(2, )))
test_dataloader = dict(dataset=dict(categories=(2, )))
val_dataloader = test_dataloader
