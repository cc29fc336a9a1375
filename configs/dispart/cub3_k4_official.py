# DisPart on CUB-3 (class 3, 58 images), K = 4, as the official code trains it: the CUB-1
# config with select_class = 3. Paper (Table 4): 19.40 % landmark error.
#   python tools/train.py configs/dispart/cub3_k4_official.py
_base_ = './cub1_k4_official.py'

train_dataloader = dict(dataset=dict(categories=(3, )))
test_dataloader = dict(dataset=dict(categories=(3, )))
val_dataloader = test_dataloader

# ceil(5,800 / 32) = 182 iterations per epoch; 59 epochs, the steps every 15 epochs
train_cfg = dict(max_iters=10738, val_interval=364)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[2730, 5460, 8190], gamma=0.3)
]
