# GANSeg stage 1 on Tai-Chi-HD, K = 10 (He et al. 2022 Table 3: MAE 417.17, IoU 0.8538).
# Official hyper-parameters (log/gan_taichi_k10): 4 blocks, batch 64, lambda_con 30 = C_con 3 x K,
# lambda_area 1, 30k iterations; background moves horizontally only (appendix B.4).
_base_ = [
    '../_base_/models/ganseg_4block.py', '../_base_/datasets/taichi.py',
    '../_base_/default_runtime.py'
]

num_parts = 10
model = dict(
    num_parts=num_parts,
    generator=dict(bg_position_mode='horizontal'),
    con_loss=dict(loss_weight_per_part=3.0))
train_dataloader = dict(batch_size=64)

val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
