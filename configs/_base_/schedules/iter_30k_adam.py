# 30k iterations with Adam (lr 1e-4, betas (0.9, 0.999), weight decay 5e-4), Liu et al. 2021
# Sec. 4 (DisPart); a single-optimizer model. GANSeg's generator/discriminator pair overrides
# optim_wrapper with constructor='MultipleOptimWrapperConstructor'.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=30000, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4, betas=(0.9, 0.999), weight_decay=5e-4))
param_scheduler = []
