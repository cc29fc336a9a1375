# DisPart on CelebA in the wild, K = 4 (official dim = 5), as the official code trains it: the
# K = 8 config with K changed. Paper (Table 1): 15.39 % landmark error.
#   python tools/train.py configs/dispart/celeba_wild_k4_official.py
_base_ = './celeba_wild_k8_official.py'

num_parts = 4
model = dict(num_parts=num_parts, classification_loss=dict(num_classes=num_parts + 1))
