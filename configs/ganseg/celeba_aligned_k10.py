# GANSeg stage 1 on aligned CelebA, K = 10 (He et al. 2022 Table 1: 3.98 %): the 4-block model,
# lambda_con = C_con x K = 1.25 x 10 = 12.5 (Eq. 26); the official code ships no config for it.
_base_ = [
    '../_base_/models/ganseg_4block.py', '../_base_/datasets/celeba_aligned.py',
    '../_base_/default_runtime.py'
]

num_parts = 10
model = dict(num_parts=num_parts)
train_dataloader = dict(batch_size=64)

val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
