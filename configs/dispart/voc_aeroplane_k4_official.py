# DisPart on PASCAL VOC 2012 aeroplane, K = 4, with the official model and losses: the official VOC
# config (voc_sheep_k4_official.py) with classselect = 'aeroplane' and Table 1's VOC-aeroplane row
# read in the official order: (perceptual, foreground, background, ArcFace) = (1.5, 3.0, 0.3, 0.1).
# Paper (Table 5): 52.82 %.
#   python tools/train.py configs/dispart/voc_aeroplane_k4_official.py
_base_ = './voc_sheep_k4_official.py'

model = dict(
    reconstruction_loss=dict(loss_weight=1.5),
    foreground_loss=dict(loss_weight=3.0),
    background_loss=dict(loss_weight=2 * 0.3),
    classification_loss=dict(loss_weight=0.1))

train_dataloader = dict(dataset=dict(category='aeroplane'))
test_dataloader = dict(dataset=dict(category='aeroplane'))
val_dataloader = test_dataloader
