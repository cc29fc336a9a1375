# 10k iterations with Adam (lr 3e-4, betas (0.9, 0.999)): GANSeg's stage-2 DeepLab segmenter,
# He et al. 2022 App. B.4.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=10000, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=3e-4, betas=(0.9, 0.999)))
param_scheduler = []
