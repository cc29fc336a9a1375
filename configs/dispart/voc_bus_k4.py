# DisPart on PASCAL VOC 2012 bus (bounding-box crops), K = 4:
# Liu et al. 2021 Table 5: IoU of the part union with the instance mask 78.17 % (fg_iou 0.7817).
#   python tools/train.py configs/dispart/voc_bus_k4.py
#   python tools/test.py configs/dispart/voc_bus_k4.py \
#       work_dirs/voc_bus_k4/iter_30000.pth
# Everything but the category and the loss weights as voc_sheep_k4.py: model, 128 x 128 inputs,
# batch 32, Adam, and its 30k iterations with the x0.3 step at 15k (N is unpublished here too).
_base_ = './voc_sheep_k4.py'

# Loss weights: appendix Table 1, VOC-bus row, as printed (lambda_rec, lambda_cls, lambda_fg,
# lambda_bg) = (1.5, 1.0, 0.5, 0.1); the weights that differ from VOC-sheep's (1.5, 2.0, 0.5, 0.1).
model = dict(classification_loss=dict(loss_weight=1.0))

# The bus objects (the base config holds sheep).
train_dataloader = dict(dataset=dict(category='bus'))
test_dataloader = dict(dataset=dict(category='bus'))
val_dataloader = test_dataloader
