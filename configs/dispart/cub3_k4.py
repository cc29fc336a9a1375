# DisPart on CUB-3 (class 3 of CUB-200-2011, bounding-box crops), K = 4:
# Liu et al. 2021 Table 4: 19.40 % landmark error, x / y normalised by box w / h.
#   python tools/train.py configs/dispart/cub3_k4.py
#   python tools/test.py configs/dispart/cub3_k4.py \
#       work_dirs/cub3_k4/iter_2820.pth
# Everything but the class as cub1_k4.py: model, the CUB-1/2/3 row of appendix Table 1 for the
# loss weights, 128 x 128 inputs, batch 32, Adam, and 2,820 iterations with the x0.3 step at
# 1,410 (class 3 also has ~30 training images in CUB's official split).
_base_ = './cub1_k4.py'

# CUB-3: the images of class 3 (the base config holds class 1).
train_dataloader = dict(dataset=dict(categories=(3, )))
test_dataloader = dict(dataset=dict(categories=(3, )))
val_dataloader = test_dataloader
