# DisPart on CUB-2 (class 2, 60 images), K = 4, as the official code trains it: the CUB-1
# config with select_class = 2. Paper (Table 4): 17.54 % landmark error.
#   python tools/train.py configs/dispart/cub2_k4_official.py
_base_ = './cub1_k4_official.py'

train_dataloader = dict(dataset=dict(categories=(2, )))
test_dataloader = dict(dataset=dict(categories=(2, )))
val_dataloader = test_dataloader
