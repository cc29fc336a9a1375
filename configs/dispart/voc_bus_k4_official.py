# DisPart on PASCAL VOC 2012 bus, K = 4, with the official model and losses: the official VOC
# config (voc_sheep_k4_official.py) with classselect = 'bus' and Table 1's VOC-bus row read in
# the official order: (perceptual, foreground, background, ArcFace) = (1.5, 1.0, 0.5, 0.1).
# Paper (Table 5): 78.17 %.
#   python tools/train.py configs/dispart/voc_bus_k4_official.py
_base_ = './voc_sheep_k4_official.py'

model = dict(
    reconstruction_loss=dict(loss_weight=1.5),
    foreground_loss=dict(loss_weight=1.0),
    background_loss=dict(loss_weight=2 * 0.5),
    classification_loss=dict(loss_weight=0.1))

train_dataloader = dict(dataset=dict(category='bus'))
test_dataloader = dict(dataset=dict(category='bus'))
val_dataloader = test_dataloader
