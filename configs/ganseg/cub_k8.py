# GANSeg stage 1 on CUB-200-2011, K = 8 (He et al. 2022 Table 2: foreground IoU 0.629).
# Official hyper-parameters (log/gan_cub_k8): the 6-block model, batch 64, lambda_con 10 =
# C_con 1.25 x K, lambda_area 1, 30k iterations.
_base_ = [
    '../_base_/models/ganseg_6block.py', '../_base_/datasets/cub_ganseg.py',
    '../_base_/default_runtime.py'
]

num_parts = 8
model = dict(num_parts=num_parts)
train_dataloader = dict(batch_size=64)

val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
