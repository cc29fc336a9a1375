# GANSeg stage 1 on Oxford Flowers, K = 8 (He et al. 2022 Table 2: foreground IoU 0.739).
# Official hyper-parameters (log/gan_flower_k8): the 6-block model with a single 1x1 RGB conv
# (single_final=1), batch 64, lambda_con 30 = C_con 3.75 x K, lambda_area 1, 30k iterations.
_base_ = [
    '../_base_/models/ganseg_6block.py', '../_base_/datasets/flowers.py',
    '../_base_/default_runtime.py'
]

num_parts = 8
model = dict(
    num_parts=num_parts,
    generator=dict(rgb_head='conv1x1'),
    con_loss=dict(loss_weight_per_part=3.75))
train_dataloader = dict(batch_size=64)

val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
